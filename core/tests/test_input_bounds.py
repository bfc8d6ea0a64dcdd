"""Issue #14, items 3, 6 and 11: bodies an attacker sent to the API. Deep or huge JSON, long
lists and Django-level refusals answer a 400 with {code, message} JSON, fast and small, never a
500 or an HTML page (core.parsers, core.serializers, core.exception_handlers, core.views)."""

import json
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client

from accounts.tests.factories import DEFAULT_PASSWORD
from core import views as core_views
from queueing.services import queue_enter
from reservations.services import reservation_hold
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = [pytest.mark.django_db, pytest.mark.security]

DEEP_ARRAYS = b"[" * 1000 + b"]" * 1000  # 2 KB
DEEP_OBJECTS = b'{"a":' * 1000 + b"1" + b"}" * 1000
TEN_MB = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'


@dataclass
class Fan:
    headers: dict[str, str]
    show_id: int
    concert_id: int
    reservation_id: int


@pytest.fixture
def fan(clock) -> Fan:
    """A logged-in fan (API key from the login endpoint), admitted, with a seat held."""
    show = make_show(starts_in=timedelta(days=10))
    user = fan_with_points(1_000_000)
    login = Client().post(
        "/api/v1/auth/token", {"phone": user.phone, "password": DEFAULT_PASSWORD}, content_type="application/json"
    )
    queue_token = queue_enter(user_id=user.pk, concert_id=show.concert_id).token
    held = reservation_hold(user=user, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    headers = {"HTTP_AUTHORIZATION": f"Token {login.json()['token']}", "HTTP_X_QUEUE_TOKEN": queue_token}
    return Fan(headers=headers, show_id=show.pk, concert_id=show.concert_id, reservation_id=held.pk)


# Every POST of the API that reads a JSON body; True: as the logged-in, admitted fan.
BODY_POSTS = [
    ("/api/v1/users", False),
    ("/api/v1/auth/token", False),
    ("/api/v1/wallet/charges", True),
    ("/api/v1/wallet/withdrawals", True),
    ("/api/v1/reservations", True),
    ("/api/v1/reservations/{reservation_id}/payment", True),
    ("/api/v1/reservations/{reservation_id}/refund", True),
]


def post(fan: Fan, path: str, as_fan: bool, body: bytes):
    url = path.format(reservation_id=fan.reservation_id)
    client = Client(raise_request_exception=False)
    return client.post(url, body, content_type="application/json", **(fan.headers if as_fan else {}))


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["code"] == code and body["message"]
    return body


@pytest.mark.parametrize(("path", "as_fan"), BODY_POSTS)
@pytest.mark.parametrize("body", [DEEP_ARRAYS, DEEP_OBJECTS], ids=["arrays", "objects"])
def test_deeply_nested_json_is_a_400_on_every_post(fan: Fan, path: str, as_fan: bool, body: bytes):
    response = post(fan, path, as_fan, body)

    assert_json_error(response, 400, "MALFORMED_REQUEST")


def test_nesting_past_the_depth_setting_is_refused_below_pythons_own_limit(fan: Fan, settings):
    settings.API_JSON_MAX_DEPTH = 3
    within = json.dumps({"name": [[1]]}).encode()  # 3 levels: parsed, then refused by the serializer
    beyond = json.dumps({"name": [[[1]]]}).encode()

    assert_json_error(post(fan, "/api/v1/users", False, within), 400, "VALIDATION_ERROR")
    assert_json_error(post(fan, "/api/v1/users", False, beyond), 400, "MALFORMED_REQUEST")


@pytest.mark.parametrize(("path", "as_fan"), BODY_POSTS)
def test_a_body_past_the_size_setting_is_a_400(fan: Fan, path: str, as_fan: bool, settings):
    body = json.dumps({"name": "x" * settings.API_JSON_MAX_BYTES}).encode()

    assert_json_error(post(fan, path, as_fan, body), 400, "REQUEST_TOO_LARGE")


@pytest.mark.parametrize(("path", "as_fan"), BODY_POSTS)
def test_a_10_mb_body_is_a_json_400(fan: Fan, path: str, as_fan: bool):
    assert_json_error(post(fan, path, as_fan, TEN_MB), 400, "REQUEST_TOO_LARGE")


@pytest.mark.parametrize("body", [DEEP_ARRAYS, TEN_MB], ids=["deep", "10MB"])
def test_the_lean_queue_path_never_parses_a_body(fan: Fan, body: bytes):
    """Entering the waiting room (served without DRF for API keys: queueing.apis.LeanApiView)
    takes no body: whatever is sent is never parsed."""
    response = post(fan, f"/api/v1/concerts/{fan.concert_id}/queue-tokens", True, body)

    assert response.status_code in (200, 201)
    assert response.json()["status"] == "ACTIVE"


def _seat_ids_body(fan: Fan, seat_ids: list) -> bytes:
    return json.dumps({"show_id": fan.show_id, "seat_ids": seat_ids}).encode()


def test_400000_invalid_seat_ids_are_refused_by_the_size_bound(fan: Fan):
    response = post(fan, "/api/v1/reservations", True, _seat_ids_body(fan, ["x"] * 400_000))  # 2.8 MB

    assert_json_error(response, 400, "REQUEST_TOO_LARGE")
    assert len(response.content) < 1_000


@pytest.mark.parametrize("path", ["/api/v1/reservations", "/api/v1/reservations/{reservation_id}/refund"])
def test_a_long_seat_list_is_refused_before_its_items_are_checked(fan: Fan, path: str, settings):
    settings.API_JSON_MAX_BYTES = 10 * 1024 * 1024  # past the size bound: the list's own bound answers
    body = _seat_ids_body(fan, ["x"] * 400_000)

    started = time.process_time()
    response = post(fan, path, True, body)
    cpu_seconds = time.process_time() - started

    errors = assert_json_error(response, 400, "VALIDATION_ERROR")["errors"]
    assert list(errors) == ["seat_ids"] and len(errors["seat_ids"]) == 1  # "no more than 100 elements"
    assert str(settings.API_SEAT_IDS_MAX) in errors["seat_ids"][0]
    assert len(response.content) < 1_000
    assert cpu_seconds < 2  # was 13 s: every item validated before the length


def test_error_answers_list_a_bounded_number_of_field_errors(fan: Fan, settings):
    bad_ids = ["x"] * settings.API_SEAT_IDS_MAX  # within the list's bound: each item is checked

    response = post(fan, "/api/v1/reservations", True, _seat_ids_body(fan, bad_ids))

    errors = assert_json_error(response, 400, "VALIDATION_ERROR")["errors"]["seat_ids"]
    limit = settings.API_ERROR_DETAILS_MAX
    assert len(errors) == limit + 1
    assert errors["..."] == f"and {settings.API_SEAT_IDS_MAX - limit} more"
    assert len(response.content) < 2_000


def test_a_host_header_not_allowed_is_a_json_400_on_the_api(client: Client):
    response = client.get("/api/v1/concerts", HTTP_HOST="attacker.example")

    assert_json_error(response, 400, "BAD_REQUEST")


def test_django_level_refusals_on_api_paths_are_json(rf):
    for handler, status, code in [
        (core_views.bad_request, 400, "BAD_REQUEST"),
        (core_views.permission_denied, 403, "PERMISSION_DENIED"),
        (core_views.not_found, 404, "NOT_FOUND"),
    ]:
        assert_json_error(handler(rf.get("/api/v1/anything"), Exception()), status, code)
    assert_json_error(core_views.server_error(rf.get("/api/v1/anything")), 500, "SERVER_ERROR")
    assert core_views.bad_request(rf.get("/wallet/"), Exception())["Content-Type"].startswith("text/html")

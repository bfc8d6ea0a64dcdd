"""The booking reads (a concert's shows, a show's seat map) with an API key and a queue token from
uvicorn's event loop (reservations.booking_reads, through config.asgi as uvicorn runs it): the
Django views' answers, against the real Redis and PostgreSQL."""

import asyncio
import json
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import user_api_key, user_api_key_revoke
from core.request_id import REQUEST_ID_HEADER
from queueing.services import queue_enter
from queueing.tests.helpers import asgi_request
from reservations.booking_reads import booking_read_route
from reservations.services import reservation_hold
from reservations.tests.factories import fan_with_points, make_show, seats_of

# The app resolves what its memos miss in its own threads: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Fan:
    api_key: str
    queue_token: str
    user_id: int


def seat_map_path(show_id: int | str) -> str:
    return f"/api/v1/shows/{show_id}/seats"


def shows_path(concert_id: int | str) -> str:
    return f"/api/v1/concerts/{concert_id}/shows"


def asgi_scope(path: str, *, authorization: str | None, queue_token: str | None, etag: str | None = None):
    headers = [(b"host", b"testserver"), (b"x-request-id", b"test-request-1")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    if queue_token is not None:
        headers.append((b"x-queue-token", queue_token.encode()))
    if etag is not None:
        headers.append((b"if-none-match", etag.encode()))
    return {
        "type": "http", "method": "GET", "path": path, "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 40000),
    }  # fmt: skip


async def asgi_call(scope: dict) -> Answer:
    return Answer(*await asgi_request(scope))


def by_event_loop(fan: Fan, path: str, *, etag: str | None = None) -> Answer:
    scope = asgi_scope(path, authorization=f"Token {fan.api_key}", queue_token=fan.queue_token, etag=etag)
    return asyncio.run(asgi_call(scope))


def by_django(fan: Fan, path: str, *, etag: str | None = None) -> Answer:
    extra = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    response = APIClient().get(
        path,
        HTTP_AUTHORIZATION=f"Token {fan.api_key}",
        HTTP_X_QUEUE_TOKEN=fan.queue_token,
        **extra,
    )
    return Answer(
        response.status_code, {name.lower(): value for name, value in response.headers.items()}, response.content
    )


def fan_in_room(show) -> Fan:
    user = fan_with_points(100_000)
    token = queue_enter(user_id=user.pk, concert_id=show.concert_id).token
    return Fan(api_key=user_api_key(user=user), queue_token=token, user_id=user.pk)


def statuses(answer: Answer) -> dict[str, str]:
    return {seat["label"]: seat["status"] for seat in answer.json()}


def test_a_seat_map_is_the_django_views_answer_and_a_304_for_its_etag():
    show = make_show()
    fan = fan_in_room(show)

    loop, view = by_event_loop(fan, seat_map_path(show.pk)), by_django(fan, seat_map_path(show.pk))

    assert loop.status == view.status == 200
    assert loop.body == view.body
    assert statuses(loop)["B-1"] == "AVAILABLE"
    for header in ("etag", "cache-control", "content-type"):
        assert loop.headers[header] == view.headers[header], header
    assert loop.headers[REQUEST_ID_HEADER.lower()] == "test-request-1"
    assert loop.headers["x-content-type-options"] == "nosniff"
    again, again_view = (
        by_event_loop(fan, seat_map_path(show.pk), etag=loop.headers["etag"]),
        by_django(fan, seat_map_path(show.pk), etag=loop.headers["etag"]),
    )
    assert again.status == again_view.status == 304
    assert again.body == b""
    assert again.headers["etag"] == loop.headers["etag"]


def test_a_hold_changes_the_map_that_the_event_loop_sends(django_capture_on_commit_callbacks):
    show = make_show()
    fan, other = fan_in_room(show), fan_in_room(show)
    before = by_event_loop(fan, seat_map_path(show.pk))

    with django_capture_on_commit_callbacks(execute=True):  # the map's new version is set on commit
        reservation_hold(user=User.objects.get(pk=other.user_id), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    after = by_event_loop(fan, seat_map_path(show.pk), etag=before.headers["etag"])

    assert after.status == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert statuses(after)["B-1"] == "HELD"
    assert after.body == by_django(fan, seat_map_path(show.pk)).body


def test_reads_at_once_after_a_change_share_one_rebuild_and_all_see_it(django_capture_on_commit_callbacks):
    show = make_show()
    fans = [fan_in_room(show) for _ in range(20)]
    before = by_event_loop(fans[0], seat_map_path(show.pk))
    with django_capture_on_commit_callbacks(execute=True):
        reservation_hold(user=User.objects.get(pk=fans[1].user_id), show_id=show.pk, seat_ids=seats_of(show, "B-2"))

    async def everyone():
        scopes = [
            asgi_scope(seat_map_path(show.pk), authorization=f"Token {fan.api_key}", queue_token=fan.queue_token)
            for fan in fans
        ]
        return await asyncio.gather(*(asgi_call(scope) for scope in scopes))

    answers = asyncio.run(everyone())

    assert [answer.status for answer in answers] == [200] * 20
    assert {answer.headers["etag"] for answer in answers} != {before.headers["etag"]}
    assert len({answer.headers["etag"] for answer in answers}) == 1
    assert statuses(answers[0])["B-2"] == "HELD"


@pytest.mark.security
@pytest.mark.parametrize(
    "case", ["unknown_key", "logged_out", "waiting", "other_concert", "other_fans_token", "no_show"]
)
@pytest.mark.parametrize("read", ["shows", "seats"])
def test_a_refusal_is_the_django_views(case, read):
    show = make_show(queue_active_size=1)
    fan = fan_in_room(show)
    waiting = fan_in_room(show)  # the room admits one: this fan waits
    other_show = make_show()
    if case == "unknown_key":
        fan.api_key = "1.not-a-key-of-anyone"
    elif case == "logged_out":
        user_api_key_revoke(user=User.objects.get(pk=fan.user_id))
    elif case == "waiting":
        fan = waiting
    elif case == "other_concert":
        fan.queue_token = queue_enter(user_id=fan.user_id, concert_id=other_show.concert_id).token
    elif case == "other_fans_token":
        fan.queue_token = waiting.queue_token
    missing = 10**17 if case == "no_show" else None  # an unknown show, or concert
    path = shows_path(missing or show.concert_id) if read == "shows" else seat_map_path(missing or show.pk)

    loop, view = by_event_loop(fan, path), by_django(fan, path)

    expected = {
        "unknown_key": 401, "logged_out": 401, "waiting": 403, "other_concert": 403, "other_fans_token": 403,
        "no_show": 404,
    }[case]  # fmt: skip
    assert loop.status == view.status == expected
    assert loop.json() == view.json()
    assert loop.headers["content-type"] == "application/json"
    assert loop.headers.get("www-authenticate") == view.headers.get("www-authenticate")
    if case == "waiting":
        assert (loop.json()["code"], loop.json()["status"], loop.json()["position"]) == (
            "QUEUE_NOT_ACTIVE",
            "WAITING",
            1,
        )


def test_the_server_side_latency_is_recorded_under_the_django_views_name():
    show = make_show()
    fan = fan_in_room(show)
    labels = {"view": "show-seat-list", "method": "GET"}
    name = "django_http_requests_latency_seconds_by_view_method_count"
    before = REGISTRY.get_sample_value(name, labels) or 0

    by_event_loop(fan, seat_map_path(show.pk))

    assert REGISTRY.get_sample_value(name, labels) == before + 1


def routed(path, *, authorization="Token abc", queue_token="1.x", method="GET"):
    route = booking_read_route(
        {**asgi_scope(path, authorization=authorization, queue_token=queue_token), "method": method}
    )
    return (route[0].view_name, route[1]) if route else None


def test_only_get_with_an_api_key_and_a_queue_token_is_served_by_the_event_loop():
    assert routed(seat_map_path(7)) == ("show-seat-list", 7)
    assert routed(shows_path(8)) == ("concert-show-list", 8)
    assert routed(seat_map_path(7), authorization="token abc") == ("show-seat-list", 7)
    assert routed(seat_map_path(7), authorization=None) is None  # a session: Django
    assert routed(shows_path(7), queue_token=None) is None  # the session's token
    assert routed(seat_map_path(7), authorization="Token a b") is None  # malformed
    assert routed(seat_map_path(7), authorization="Bearer abc") is None
    assert routed(seat_map_path(7), method="HEAD") is None
    assert routed(seat_map_path("7/x")) is None
    assert routed("/api/v1/concerts/7/queue-tokens") is None


def test_a_shows_list_is_the_django_views_answer_with_the_seats_left():
    show = make_show()
    fan, other = fan_in_room(show), fan_in_room(show)
    path = shows_path(show.concert_id)
    before = by_event_loop(fan, path)

    reservation_hold(user=User.objects.get(pk=other.user_id), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    after, view = by_event_loop(fan, path), by_django(fan, path)

    assert before.status == after.status == view.status == 200
    assert after.body == view.body
    assert after.headers["content-type"] == "application/json"
    assert after.json()[0]["remaining_seats"] == before.json()[0]["remaining_seats"] - 1


def test_a_read_the_event_loop_does_not_serve_is_answered_by_django():
    show = make_show()
    fan = fan_in_room(show)

    scope = asgi_scope(seat_map_path(show.pk), authorization=f"Token {fan.api_key}", queue_token=None)
    answer = asyncio.run(asgi_call(scope))

    assert (answer.status, answer.json()["code"]) == (403, "QUEUE_NOT_ACTIVE")


def test_a_bug_is_the_apis_json_500_not_a_bare_one(monkeypatch):
    show = make_show()
    fan = fan_in_room(show)

    def broken(**kwargs):
        raise RuntimeError("a bug")

    by_event_loop(fan, seat_map_path(show.pk))  # the show has a map version now: the next read looks for a kept map
    monkeypatch.setattr("reservations.booking_reads.kept_seat_map", broken)
    answer = by_event_loop(fan, seat_map_path(show.pk))

    assert (answer.status, answer.json()["code"]) == (500, "SERVER_ERROR")
    assert answer.headers["content-type"] == "application/json"

"""Entering with an API key from uvicorn's event loop (queueing.entering, through config.asgi as
uvicorn runs it): the same answers as the Django view, against the real Redis and PostgreSQL."""

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.authentication import api_key_forget
from accounts.services import user_api_key
from accounts.tests.factories import UserFactory
from core.request_id import REQUEST_ID_HEADER
from core.tests.test_metrics import scrape, value
from queueing import selectors
from queueing.entering import enter_route, leave_route
from queueing.selectors import queue_stats
from queueing.services import aqueue_enter_for_api_key
from queueing.tests.factories import ConcertFactory, ShowFactory, concert_on_sale
from queueing.tests.helpers import asgi_request, count_batches, room_state
from queueing.tests.test_api import FIELDS, low_enter_limits

# The app resolves API keys and policies in its own threads: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict


def http_scope(method: str, path: str, request_id: str, **headers: str | None) -> dict:
    """An ASGI request as uvicorn passes it, with these headers (name_with_underscores=value; None: not sent)."""
    fields = [(b"host", b"testserver"), (b"x-request-id", request_id.encode())]
    sent = {name.replace("_", "-"): value for name, value in headers.items() if value is not None}
    fields += [(name.encode(), value.encode()) for name, value in sent.items()]
    return {
        "type": "http", "method": method, "path": path, "query_string": b"", "headers": fields,
        "client": ("127.0.0.1", 40000),
    }  # fmt: skip


def asgi_scope(concert_id: int | str, *, authorization: str | None, forwarded_for: str | None = None) -> dict:
    path = f"/api/v1/concerts/{concert_id}/queue-tokens"
    return http_scope("POST", path, "test-request-1", authorization=authorization, x_forwarded_for=forwarded_for)


async def asgi_call(scope: dict) -> Answer:
    status, headers, body = await asgi_request(scope)
    return Answer(status, headers, json.loads(body))


def by_event_loop(api_key: str, concert_id: int | str, *, forwarded_for: str | None = None) -> Answer:
    scope = asgi_scope(concert_id, authorization=f"Token {api_key}", forwarded_for=forwarded_for)
    return asyncio.run(asgi_call(scope))


def by_django(api_key: str, concert_id: int | str) -> Answer:
    response = APIClient().post(f"/api/v1/concerts/{concert_id}/queue-tokens", HTTP_AUTHORIZATION=f"Token {api_key}")
    return Answer(
        response.status_code, {name.lower(): value for name, value in response.headers.items()}, response.json()
    )


def fan_key() -> str:
    return user_api_key(user=UserFactory())


def test_an_entry_gets_the_django_views_answer_201_then_200_with_the_same_place():
    concert = concert_on_sale(queue_active_size=1)
    first, second = fan_key(), fan_key()

    active = by_event_loop(first, concert.pk)
    waiting = by_event_loop(second, concert.pk)
    again = by_event_loop(second, concert.pk)
    by_view = by_django(second, concert.pk)

    assert (active.status, active.body["status"]) == (201, "ACTIVE")
    assert (waiting.status, waiting.body["status"], waiting.body["position"]) == (201, "WAITING", 1)
    assert set(waiting.body) == FIELDS
    assert again.status == by_view.status == 200
    assert again.body == by_view.body and again.body["token"] == waiting.body["token"]
    assert again.headers["content-type"] == "application/json"
    assert again.headers[REQUEST_ID_HEADER.lower()] == "test-request-1"
    assert again.headers["x-content-type-options"] == "nosniff"


def test_many_fans_entering_at_once_get_distinct_places_and_never_more_than_the_active_size():
    concert = concert_on_sale(queue_active_size=3)
    keys = [fan_key() for _ in range(30)]

    async def everyone():
        scopes = [asgi_scope(concert.pk, authorization=f"Token {key}") for key in keys]
        return await asyncio.gather(*(asgi_call(scope) for scope in scopes))

    answers = asyncio.run(everyone())

    assert [a.status for a in answers] == [201] * 30
    assert sum(a.body["status"] == "ACTIVE" for a in answers) == 3
    assert sorted(a.body["position"] for a in answers if a.body["status"] == "WAITING") == list(range(1, 28))
    assert len({a.body["token"] for a in answers}) == 30
    stats = queue_stats(concert_id=concert.pk)
    assert (stats.active, stats.waiting) == (3, 27)


def test_the_pre_queue_answer_is_the_django_views(clock):
    concert = ConcertFactory(prequeue_minutes=30)
    ShowFactory(concert=concert, booking_opens_at=clock.now() + timedelta(minutes=10))
    api_key = fan_key()

    entered = by_event_loop(api_key, concert.pk)
    by_view = by_django(api_key, concert.pk)

    assert (entered.status, by_view.status) == (201, 200)
    assert entered.body == by_view.body
    assert (entered.body["status"], entered.body["seconds_until_open"]) == ("PREQUEUE", 600)


def revoked_key() -> str:
    user = UserFactory()
    key = Token.objects.create(user=user).key
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    api_key_forget(key)
    return key


def full_room() -> int:
    concert = concert_on_sale(queue_active_size=1, queue_max_waiting=1)
    for _ in range(2):
        assert by_event_loop(fan_key(), concert.pk).status == 201
    return concert.pk


def closed_room(clock) -> int:
    concert = ConcertFactory(prequeue_minutes=30)
    ShowFactory(concert=concert, booking_opens_at=clock.now() + timedelta(hours=1))
    return concert.pk


@pytest.mark.parametrize(
    ("refusal", "status", "code", "header"),
    [
        ("unknown concert", 404, "NOT_FOUND", None),
        ("booking closed", 409, "BOOKING_CLOSED", None),
        ("queue full", 503, "QUEUE_FULL", "retry-after"),
        ("revoked key", 401, "NOT_AUTHENTICATED", "www-authenticate"),
        ("unknown key", 401, "NOT_AUTHENTICATED", "www-authenticate"),
    ],
)
def test_a_refusal_is_the_django_views_and_changes_nothing(clock, refusal, status, code, header):
    concert_id = {
        "unknown concert": lambda: 999_999,
        "booking closed": lambda: closed_room(clock),
        "queue full": full_room,
    }.get(refusal, lambda: concert_on_sale().pk)()
    api_key = {"revoked key": revoked_key, "unknown key": lambda: "1.unknownkeyunknownkeyunknown"}.get(
        refusal, fan_key
    )()
    before = room_state(concert_id)

    refused = by_event_loop(api_key, concert_id)
    by_view = by_django(api_key, concert_id)

    assert (refused.status, refused.body["code"]) == (status, code)
    assert refused.body == by_view.body
    if header:
        assert refused.headers[header] == by_view.headers[header]
    assert room_state(concert_id) == before


def test_past_the_per_user_limit_429_with_retry_after_as_the_django_view(settings, clock):
    low_enter_limits(settings, user="2/min")
    concert = concert_on_sale()
    api_key = fan_key()

    answers = [by_event_loop(api_key, concert.pk) for _ in range(3)]
    by_view = by_django(api_key, concert.pk)

    assert [a.status for a in answers] == [201, 200, 429]
    assert answers[-1].body == by_view.body and answers[-1].body["code"] == "RATE_LIMITED"
    assert answers[-1].headers["retry-after"] == by_view.headers["retry-after"]
    clock.advance(timedelta(seconds=int(by_view.headers["retry-after"])))
    assert by_event_loop(api_key, concert.pk).status == 200  # a new window


def test_the_per_address_limit_counts_the_forwarded_client_address(settings, clock):  # one window
    low_enter_limits(settings, ip="1/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # behind HAProxy
    concert = concert_on_sale()

    first = by_event_loop(fan_key(), concert.pk, forwarded_for="10.1.1.1")
    same_address = by_event_loop(fan_key(), concert.pk, forwarded_for="10.9.9.9, 10.1.1.1")  # the proxy's entry
    other_address = by_event_loop(fan_key(), concert.pk, forwarded_for="10.2.2.2")

    assert (first.status, same_address.status, other_address.status) == (201, 429, 201)
    assert same_address.body["code"] == "RATE_LIMITED"


def test_the_server_side_latency_is_recorded_under_the_django_views_name():
    concert = concert_on_sale()
    labels = {"view": "queue-token-create", "method": "POST"}
    name = "django_http_requests_latency_seconds_by_view_method_count"
    before = REGISTRY.get_sample_value(name, labels) or 0

    by_event_loop(fan_key(), concert.pk)

    assert REGISTRY.get_sample_value(name, labels) == before + 1


def test_only_post_with_an_api_key_is_served_by_the_event_loop():
    assert enter_route(asgi_scope(7, authorization="Token abc")) == 7
    assert enter_route(asgi_scope(7, authorization="token abc")) == 7
    assert enter_route(asgi_scope(7, authorization=None)) is None  # a session: Django
    assert enter_route(asgi_scope(7, authorization="Token a b")) is None  # malformed: Django's 401
    assert enter_route(asgi_scope(7, authorization="Bearer abc")) is None
    assert enter_route({**asgi_scope(7, authorization="Token abc"), "method": "GET"}) is None
    assert enter_route(asgi_scope("7/x", authorization="Token abc")) is None


def test_a_call_the_event_loop_does_not_serve_is_answered_by_django():
    concert = concert_on_sale()

    answer = asyncio.run(asgi_call(asgi_scope(concert.pk, authorization=None)))

    assert (answer.status, answer.body["code"]) == (401, "NOT_AUTHENTICATED")


def test_a_bug_is_the_apis_json_500_not_a_bare_one(monkeypatch):
    async def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("queueing.entering.aqueue_enter_for_api_key", broken)

    answer = by_event_loop(fan_key(), 7)

    assert (answer.status, answer.body["code"]) == (500, "SERVER_ERROR")
    assert answer.headers["content-type"] == "application/json"


# --- leaving ------------------------------------------------------------------------------------


def leave_scope(*, authorization: str | None, token: str | None) -> dict:
    path = "/api/v1/queue-tokens/current"
    return http_scope("DELETE", path, "test-request-2", authorization=authorization, x_queue_token=token)


def leave_by_event_loop(api_key: str, token: str | None) -> tuple[int, dict[str, str], bytes]:
    return asyncio.run(asgi_request(leave_scope(authorization=f"Token {api_key}", token=token)))


def leave_by_django(api_key: str, token: str | None) -> tuple[int, bytes]:
    headers = {"HTTP_AUTHORIZATION": f"Token {api_key}"} | ({"HTTP_X_QUEUE_TOKEN": token} if token else {})
    response = APIClient().delete("/api/v1/queue-tokens/current", **headers)
    return response.status_code, response.content


def test_a_leave_is_the_django_views_204_and_hands_the_place_to_the_next_at_once():
    concert = concert_on_sale(queue_active_size=1)
    leaving, next_in_line, other = fan_key(), fan_key(), fan_key()
    active = by_event_loop(leaving, concert.pk).body
    waiting = by_event_loop(next_in_line, concert.pk).body
    by_event_loop(other, concert.pk)
    assert (active["status"], waiting["position"]) == ("ACTIVE", 1)

    status, headers, body = leave_by_event_loop(leaving, active["token"])

    assert (status, body) == (204, b"")
    assert "content-length" not in headers and headers[REQUEST_ID_HEADER.lower()] == "test-request-2"
    assert by_event_loop(next_in_line, concert.pk).body["status"] == "ACTIVE"
    # Counted as the Django view counts it: the first fan's admission at entry, the second's now.
    admissions = f'stagegate_queue_admissions_total{{concert="{concert.pk}"}}'
    assert value(scrape(Client()), admissions) == 2
    assert leave_by_django(other, by_event_loop(other, concert.pk).body["token"]) == (204, b"")
    stats = queue_stats(concert_id=concert.pk)
    assert (stats.active, stats.waiting) == (1, 0)


def test_a_leave_that_hands_on_its_place_counts_the_admission_in_a_batch_not_a_round_trip_of_its_own(
    monkeypatch, settings
):
    concert = concert_on_sale(queue_active_size=1)
    leaving, next_in_line = fan_key(), fan_key()
    token = by_event_loop(leaving, concert.pk).body["token"]
    by_event_loop(next_in_line, concert.pk)
    batches = count_batches(monkeypatch)
    admissions = f'stagegate_queue_admissions_total{{concert="{concert.pk}"}}'
    counted = value(scrape(Client()), admissions)

    assert leave_by_event_loop(leaving, token)[0] == 204

    # The key's read, the leave script (alone on a Redis Cluster), then the count.
    script = [] if settings.REDIS_CLUSTER_URL else [["EVALSHA"]]
    assert batches == [["GET"], *script, ["HINCRBYFLOAT"]]
    assert value(scrape(Client()), admissions) == counted + 1


def test_a_count_redis_refuses_leaves_the_leave_done_and_answered(monkeypatch, caplog):
    concert = concert_on_sale(queue_active_size=1)
    leaving, next_in_line = fan_key(), fan_key()
    token = by_event_loop(leaving, concert.pk).body["token"]
    by_event_loop(next_in_line, concert.pk)
    # A command Redis answers with an error (not a number to add).
    monkeypatch.setattr(
        "queueing.services.metric_incr_command", lambda name, n, **labels: ("HINCRBYFLOAT", "sgtest:x", name, "many")
    )

    assert leave_by_event_loop(leaving, token)[0] == 204

    assert by_event_loop(next_in_line, concert.pk).body["status"] == "ACTIVE"
    assert "metric queue_admissions not counted" in caplog.text


@pytest.mark.parametrize(
    ("refusal", "status", "code"),
    [
        ("left already", 404, "TOKEN_NOT_FOUND"),
        ("another fan's token", 404, "TOKEN_NOT_FOUND"),
        ("no token", 404, "TOKEN_NOT_FOUND"),
        ("malformed token", 404, "TOKEN_NOT_FOUND"),
        ("unknown key", 401, "NOT_AUTHENTICATED"),
    ],
)
def test_a_refused_leave_is_the_django_views_and_changes_nothing(refusal, status, code):
    concert = concert_on_sale(queue_active_size=1)
    fan, someone = fan_key(), fan_key()
    token = by_event_loop(fan, concert.pk).body["token"]
    by_event_loop(someone, concert.pk)
    if refusal == "left already":
        assert leave_by_event_loop(fan, token)[0] == 204
    api_key = {"another fan's token": someone, "unknown key": "1.unknownkeyunknownkeyunknown"}.get(refusal, fan)
    token = {"no token": None, "malformed token": "not-a-token"}.get(refusal, token)
    before = room_state(concert.pk)

    refused_status, headers, body = leave_by_event_loop(api_key, token)
    by_view = leave_by_django(api_key, token)

    assert (refused_status, json.loads(body)["code"]) == (status, code)
    assert (refused_status, json.loads(body)) == (by_view[0], json.loads(by_view[1]))
    assert headers["content-type"] == "application/json"
    assert room_state(concert.pk) == before


def test_the_leaves_latency_is_recorded_under_the_django_views_name():
    concert = concert_on_sale()
    api_key = fan_key()
    token = by_event_loop(api_key, concert.pk).body["token"]
    labels = {"view": "queue-token-current", "method": "DELETE"}
    name = "django_http_requests_latency_seconds_by_view_method_count"
    before = REGISTRY.get_sample_value(name, labels) or 0

    leave_by_event_loop(api_key, token)

    assert REGISTRY.get_sample_value(name, labels) == before + 1


def test_only_delete_of_the_current_token_with_an_api_key_is_served_by_the_event_loop():
    assert leave_route(leave_scope(authorization="Token abc", token="t"))
    assert leave_route(leave_scope(authorization="Token abc", token=None))  # refused there: 404
    assert not leave_route(leave_scope(authorization=None, token="t"))  # a session: Django
    assert not leave_route(leave_scope(authorization="Token a b", token="t"))  # malformed: Django's 401
    assert not leave_route({**leave_scope(authorization="Token abc", token="t"), "method": "GET"})  # a poll
    assert not leave_route({**leave_scope(authorization="Token abc", token="t"), "path": "/api/v1/queue-tokens/x"})


def test_a_bug_in_a_leave_is_the_apis_json_500_not_a_bare_one(monkeypatch):
    async def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("queueing.entering.aqueue_leave_for_api_key", broken)

    status, headers, body = leave_by_event_loop(fan_key(), "7.token")

    assert (status, json.loads(body)["code"]) == (500, "SERVER_ERROR")
    assert headers["content-type"] == "application/json"


def test_entries_that_come_in_together_go_to_redis_together_and_each_gets_its_own_place(monkeypatch, settings):
    concert = concert_on_sale(queue_active_size=2)
    keys = [fan_key() for _ in range(5)]
    batches = count_batches(monkeypatch)

    async def enter_together():
        entries = (aqueue_enter_for_api_key(api_key=key, concert_id=concert.pk, client_ip="127.0.0.1") for key in keys)
        return await asyncio.gather(*entries)

    answers = asyncio.run(enter_together())

    assert sorted((answer.status.value, answer.position or 0) for answer in answers) == [
        ("ACTIVE", 0), ("ACTIVE", 0), ("WAITING", 1), ("WAITING", 2), ("WAITING", 3),
    ]  # fmt: skip
    assert batches[0] == ["GET"] * 5  # the five keys' reads in one round trip
    # The scripts too, but on a Redis Cluster (the key cache stays on the plain Redis): alone;
    # the two admissions' counts (on the plain Redis) in a batch, not a round trip each.
    scripts = [] if settings.REDIS_CLUSTER_URL else ["EVALSHA"] * 5
    assert sorted(name for batch in batches for name in batch) == scripts + ["GET"] * 5 + ["HINCRBYFLOAT"] * 2


def test_entries_that_find_the_concerts_policy_stale_together_read_it_once(monkeypatch):
    concert = concert_on_sale(queue_active_size=2)
    keys = [fan_key() for _ in range(20)]
    reads = []
    fill = selectors._policy_cache_fill

    def counted(**kwargs):  # the real read (SQL), counted
        reads.append(kwargs)
        return fill(**kwargs)

    monkeypatch.setattr(selectors, "_policy_cache_fill", counted)

    async def enter_together():
        entries = (aqueue_enter_for_api_key(api_key=key, concert_id=concert.pk, client_ip="127.0.0.1") for key in keys)
        return await asyncio.gather(*entries)

    answers = asyncio.run(enter_together())  # the tests' policy cache is stale at once (0 s)

    assert reads == [{"concert_id": concert.pk}]
    assert sorted(answer.position or 0 for answer in answers) == [0, 0, *range(1, 19)]
    assert asyncio.run(enter_together()) and len(reads) == 2  # a later, stale moment reads it again

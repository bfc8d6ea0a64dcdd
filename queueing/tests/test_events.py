"""The waiting room's event stream (queueing.events): the ASGI app as uvicorn runs it, against the
real Redis and PostgreSQL, and the same path served by gunicorn (one event per request)."""

import asyncio
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import redis.asyncio
from django.conf import settings as django_settings
from django.core import signing
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.authentication import api_key_new
from accounts.services import user_api_key_revoke, user_login_token
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from concerts.tests.factories import ConcertFactory, make_show
from config.asgi import application
from core.exceptions import ServiceUnavailable
from queueing import aio
from queueing.events import EVENTS_PATH, error_event
from queueing.exceptions import TokenNotFound
from queueing.selectors import aqueue_status
from queueing.services import (
    queue_enter,
    queue_leave,
    queue_promote,
    queue_set_paused,
    queue_stream_ticket_issue,
)
from queueing.tests.helpers import count_batches

# The app resolves API keys and reads statuses in its own event loop and threads: committed data.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(settings):
    """A concert on sale with one admitted place; every refresh at once (no waiting in tests)."""
    settings.QUEUE_REFRESH_MIN_SECONDS = settings.QUEUE_REFRESH_MAX_SECONDS = 0
    concert = ConcertFactory(queue_active_size=1)
    make_show(concert=concert)
    return concert


def fan_with_key():
    user = UserFactory()
    return user, Token.objects.create(user=user, key=api_key_new(user_id=user.pk)).key


class Stream:
    """One request to the ASGI app; what it sent, parsed."""

    def __init__(self, *, api_key: str | None, token: str | None = None, query: str = "", method: str = "GET"):
        headers = []
        if api_key:
            headers.append((b"authorization", f"Token {api_key}".encode()))
        if token:
            headers.append((b"x-queue-token", token.encode()))
        self.scope = {
            "type": "http", "method": method, "path": EVENTS_PATH, "query_string": query.encode(), "headers": headers,
        }  # fmt: skip
        self.status: int | None = None
        self.headers: dict[bytes, bytes] = {}
        self.body = b""
        self.body_messages = 0
        self.ending = b""  # the body of the message that ended the stream
        self.ended = False
        self.disconnect = asyncio.Event()
        self.requested = False

    async def receive(self):
        if not self.requested:  # the (empty) request body first, as a server sends it
            self.requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        if message["type"] == "http.response.start":
            self.status, self.headers = message["status"], dict(message["headers"])
        else:
            self.body += message.get("body", b"")
            self.body_messages += 1
            self.ended = not message.get("more_body", False)
            if self.ended:
                self.ending = message.get("body", b"")

    def events(self) -> list[tuple[str, dict]]:
        out = []
        for block in self.body.decode().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" in fields:
                out.append((fields["event"], json.loads(fields["data"])))
        return out


def run(stream: Stream, during=None, *, timeout: float = 10) -> Stream:
    """Run the app to its end; `during()` runs once the first event is out (in a thread, or in
    the loop if it is a coroutine function)."""

    async def main():
        app = asyncio.create_task(application(stream.scope, stream.receive, stream.send))
        if during is not None:
            while not stream.body and not app.done():
                await asyncio.sleep(0.01)
            await (during() if asyncio.iscoroutinefunction(during) else asyncio.to_thread(during))
        await asyncio.wait_for(app, timeout)

    asyncio.run(main())
    return stream


def test_a_waiting_fan_is_told_each_status_until_admitted_and_then_the_stream_ends(room):
    first, _ = fan_with_key()
    queue_enter(user_id=first.pk, concert_id=room.pk)  # takes the one place
    fan, api_key = fan_with_key()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token

    stream = run(Stream(api_key=api_key, token=token), during=lambda: queue_leave(
        user_id=first.pk, token=queue_enter(user_id=first.pk, concert_id=room.pk).token
    ))  # fmt: skip

    assert stream.status == 200 and stream.headers[b"content-type"].startswith(b"text/event-stream")
    events = stream.events()
    assert events[0][0] == "status" and events[0][1]["status"] == "WAITING" and events[0][1]["position"] == 1
    assert events[-1][0] == "status" and events[-1][1]["status"] == "ACTIVE"
    assert all(kind == "status" for kind, _ in events) and stream.ended
    assert events[-1][1]["token"] == token


def test_far_back_in_the_line_the_stream_gives_one_status_and_when_to_connect_again(room, settings):
    settings.QUEUE_EVENTS_HOLD_MAX_POSITION = 1
    settings.QUEUE_REFRESH_MIN_SECONDS, settings.QUEUE_REFRESH_MAX_SECONDS = 2, 60
    first, _ = fan_with_key()
    queue_enter(user_id=first.pk, concert_id=room.pk)  # takes the one place
    near, near_key = fan_with_key()
    near_token = queue_enter(user_id=near.pk, concert_id=room.pk).token
    far, far_key = fan_with_key()
    far_token = queue_enter(user_id=far.pk, concert_id=room.pk).token

    far_stream = run(Stream(api_key=far_key, token=far_token))
    near_stream = run(Stream(api_key=near_key, token=near_token), during=lambda: queue_leave(
        user_id=first.pk, token=queue_enter(user_id=first.pk, concert_id=room.pk).token
    ))  # fmt: skip

    [(kind, data)] = far_stream.events()
    assert (kind, data["status"], data["position"]) == ("status", "WAITING", 2) and far_stream.ended
    assert far_stream.body_messages == 1  # the status ends the stream: one write, not two
    assert f"retry: {data['refresh_after_seconds'] * 1000}\n".encode() in far_stream.body
    # Within the front, the stream is held until the fan is admitted.
    assert [data["status"] for _, data in near_stream.events()] == ["WAITING", "ACTIVE"]


def test_the_token_may_come_as_a_query_parameter_and_an_admitted_fan_gets_one_event(room):
    fan, api_key = fan_with_key()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token

    stream = run(Stream(api_key=api_key, query=f"token={token}"))

    assert [(kind, data["status"]) for kind, data in stream.events()] == [("status", "ACTIVE")]
    assert stream.ended and stream.body_messages == 1


def test_a_token_that_ends_mid_stream_gives_an_error_event_and_ends_the_stream(room):
    first, _ = fan_with_key()
    queue_enter(user_id=first.pk, concert_id=room.pk)
    fan, api_key = fan_with_key()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token

    stream = run(Stream(api_key=api_key, token=token), during=lambda: queue_leave(user_id=fan.pk, token=token))

    kind, data = stream.events()[-1]
    assert (kind, data["code"]) == ("error", "TOKEN_NOT_FOUND") and stream.ended
    assert stream.ending == error_event(TokenNotFound())  # the error ends the stream itself


def test_the_stream_stops_when_the_fan_goes_away(room):
    first, _ = fan_with_key()
    queue_enter(user_id=first.pk, concert_id=room.pk)
    fan, api_key = fan_with_key()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token
    stream = Stream(api_key=api_key, token=token)

    async def go_away():
        stream.disconnect.set()

    run(stream, during=go_away)

    assert stream.status == 200 and stream.ended
    assert {data["status"] for _, data in stream.events()} == {"WAITING"}


@pytest.mark.parametrize(
    ("api_key", "token", "status", "code"),
    [
        (None, "1.x", 401, "NOT_AUTHENTICATED"),
        ("1.unknown.key", "1.x", 401, "NOT_AUTHENTICATED"),
        ("valid", "not-a-token", 404, "TOKEN_NOT_FOUND"),
        ("valid", None, 404, "TOKEN_NOT_FOUND"),
    ],
)
def test_refusals_before_the_stream_are_plain_json_answers(room, api_key, token, status, code):
    if api_key == "valid":
        _, api_key = fan_with_key()

    stream = run(Stream(api_key=api_key, token=token))

    assert stream.status == status and stream.headers[b"content-type"] == b"application/json"
    assert json.loads(stream.body)["code"] == code


@pytest.mark.security
@pytest.mark.parametrize("end", ["logged out", "expired"])
def test_an_ended_key_gets_no_stream_though_it_is_cached(room, end, settings, clock):
    user = UserFactory()
    api_key = user_login_token(phone=user.phone, password=DEFAULT_PASSWORD)  # cached at log-in
    token = queue_enter(user_id=user.pk, concert_id=room.pk).token
    assert run(Stream(api_key=api_key, token=token)).status == 200

    if end == "logged out":
        user_api_key_revoke(user=user)
    else:
        clock.advance(settings.API_KEY_LIFETIME_SECONDS + 1)
    stream = run(Stream(api_key=api_key, token=token))

    assert (stream.status, json.loads(stream.body)["code"]) == (401, "NOT_AUTHENTICATED")


def test_another_fans_token_is_not_found(room):
    owner, _ = fan_with_key()
    token = queue_enter(user_id=owner.pk, concert_id=room.pk).token
    _, api_key = fan_with_key()

    stream = run(Stream(api_key=api_key, token=token))

    assert (stream.status, json.loads(stream.body)["code"]) == (404, "TOKEN_NOT_FOUND")


def test_other_paths_go_to_django_under_asgi(room):
    stream = Stream(api_key=None)
    stream.scope["path"] = "/healthz"
    stream.scope["server"] = ("testserver", 80)

    run(stream)

    assert stream.status == 200


def test_gunicorn_serves_the_path_as_one_event_and_the_browser_reconnects(room):
    fan, api_key = fan_with_key()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key}")

    response = api.get(f"{EVENTS_PATH}?token={token}")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    text = response.content.decode()
    assert text.startswith("retry: ") and "event: status" in text
    assert json.loads(text.split("data: ", 1)[1])["status"] == "ACTIVE"


def test_an_admission_wakes_the_stream_at_once_not_at_the_next_refresh(room, settings):
    settings.QUEUE_REFRESH_MIN_SECONDS = settings.QUEUE_REFRESH_MAX_SECONDS = 60
    first, _ = fan_with_key()
    first_token = queue_enter(user_id=first.pk, concert_id=room.pk).token
    fan, api_key = fan_with_key()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token

    # The leave admits the fan in its own script; the stream must not wait out its 60 s.
    stream = run(Stream(api_key=api_key, token=token), during=lambda: queue_leave(user_id=first.pk, token=first_token),
                 timeout=10)  # fmt: skip

    assert [data["status"] for _, data in stream.events()] == ["WAITING", "ACTIVE"] and stream.ended


def paced_stream(room, settings, *, every_refreshes: int, ahead: int = 0) -> tuple[Stream, list]:
    """The stream of a fan behind the one admitted place (kept) and `ahead` waiting fans, with a
    refresh of 1 s; returns the stream and the (user, token) of the fans ahead."""
    settings.QUEUE_REFRESH_MIN_SECONDS, settings.QUEUE_REFRESH_MAX_SECONDS = 1, 60
    settings.QUEUE_EVENTS_STATUS_EVERY_REFRESHES = every_refreshes
    queue_enter(user_id=fan_with_key()[0].pk, concert_id=room.pk)  # takes the one place, keeps it
    users_ahead = [fan_with_key()[0] for _ in range(ahead)]
    fans_ahead = [(user, queue_enter(user_id=user.pk, concert_id=room.pk).token) for user in users_ahead]
    fan, api_key = fan_with_key()
    return Stream(api_key=api_key, token=queue_enter(user_id=fan.pk, concert_id=room.pk).token), fans_ahead


def leave_after(stream: Stream, seconds: float):
    async def go_away():
        await asyncio.sleep(seconds)
        stream.disconnect.set()

    return go_away


def test_a_waiting_fans_statuses_come_every_few_refreshes_and_retry_stays_the_refresh(room, settings):
    stream, _ = paced_stream(room, settings, every_refreshes=3)

    run(stream, during=leave_after(stream, 2.5))

    # At every refresh (1 s) there would have been three by now; the next is due at 3 s.
    [(kind, data)] = stream.events()
    assert (kind, data["status"], data["refresh_after_seconds"]) == ("status", "WAITING", 1)
    assert b"retry: 1000\n" in stream.body and stream.ended


def test_while_the_place_stalls_the_statuses_come_twice_as_far_apart_each_time(room, settings):
    stream, _ = paced_stream(room, settings, every_refreshes=1)

    run(stream, during=leave_after(stream, 4.5))

    # At 0 and 1 s (the refresh), then 2 s later (3 s), the next 4 s later (7 s): five at every refresh.
    assert [(data["status"], data["position"]) for _, data in stream.events()] == [("WAITING", 1)] * 3
    assert b"retry: 1000\n" in stream.body and stream.ended


def test_a_place_that_moves_on_brings_back_the_pace(room, settings):
    stream, ahead = paced_stream(room, settings, every_refreshes=1, ahead=2)

    async def the_two_ahead_leave_then_the_fan_goes_away():
        await asyncio.sleep(1.5)  # after the second status: stalled, the third is due at 3 s
        for user, token in ahead:
            await asyncio.to_thread(queue_leave, user_id=user.pk, token=token)
        await leave_after(stream, 3)()

    run(stream, during=the_two_ahead_leave_then_the_fan_goes_away)

    # 0 s and 1 s at place 3; 3 s at place 1 (moved on: the pace again), 4 s; the next at 6 s.
    assert [data["position"] for _, data in stream.events()] == [3, 3, 1, 1]


def test_a_pre_queue_fans_stream_tells_the_opening_at_its_refresh_not_later(clock, settings):
    settings.QUEUE_REFRESH_MIN_SECONDS, settings.QUEUE_REFRESH_MAX_SECONDS = 1, 60
    settings.QUEUE_EVENTS_STATUS_EVERY_REFRESHES = 10
    concert = ConcertFactory(prequeue_minutes=30, queue_active_size=1)
    make_show(concert=concert, opens_in=timedelta(minutes=1))
    queue_set_paused(concert_id=concert.pk, paused=True)  # nobody admitted: the fan keeps a place
    fan, api_key = fan_with_key()
    token = queue_enter(user_id=fan.pk, concert_id=concert.pk).token
    clock.advance(timedelta(seconds=59))  # the opening 1 s away: the fan's refresh is 1 s
    stream = Stream(api_key=api_key, token=token)

    async def open_the_sale_and_wait_for_the_news():
        clock.advance(timedelta(seconds=2))
        await asyncio.to_thread(queue_promote, concert_id=concert.pk)
        for _ in range(60):  # 3 s: the refresh (1 s) and a batch, not the ten refreshes of a waiting fan
            if b'"WAITING"' in stream.body:
                break
            await asyncio.sleep(0.05)
        stream.disconnect.set()

    run(stream, during=open_the_sale_and_wait_for_the_news)

    assert [data["status"] for _, data in stream.events()] == ["PREQUEUE", "WAITING"]
    assert stream.events()[1][1]["position"] == 1 and stream.ended


def test_a_quiet_stream_sends_heartbeats_between_far_apart_statuses(room, settings):
    settings.QUEUE_REFRESH_MIN_SECONDS = settings.QUEUE_REFRESH_MAX_SECONDS = 1
    settings.QUEUE_EVENTS_HEARTBEAT_SECONDS = 0.3
    first, _ = fan_with_key()
    queue_enter(user_id=first.pk, concert_id=room.pk)
    fan, api_key = fan_with_key()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token

    stream = run(Stream(api_key=api_key, token=token), during=lambda: queue_leave(user_id=fan.pk, token=token))

    assert b": still there\n\n" in stream.body
    assert [kind for kind, _ in stream.events()] == ["status", "error"] and stream.ended


plain_redis_only = pytest.mark.skipif(
    bool(django_settings.REDIS_CLUSTER_URL), reason="on a Redis Cluster each status goes alone"
)


@plain_redis_only
def test_statuses_due_by_the_clock_go_to_redis_in_one_batch_and_each_fan_gets_its_own(room, settings, monkeypatch):
    settings.QUEUE_REDIS_BATCH_SECONDS = 0.05
    queue_enter(user_id=fan_with_key()[0].pk, concert_id=room.pk)  # takes the one place
    fans = [fan_with_key()[0] for _ in range(5)]
    tokens = [queue_enter(user_id=fan.pk, concert_id=room.pk).token for fan in fans]
    alone = []
    monkeypatch.setattr(aio, "run_script", lambda *args: alone.append(args))  # the one-call path

    async def statuses():
        return await asyncio.gather(
            *(aqueue_status(user_id=fan.pk, token=token, batched=True) for fan, token in zip(fans, tokens, strict=True))
        )

    answers = asyncio.run(statuses())

    assert [(answer.token, answer.position) for answer in answers] == list(zip(tokens, range(1, 6), strict=True))
    assert alone == []
    # Another fan's token in the batch is refused on its own; the others are answered.
    mixed = [(fans[0], tokens[1]), (fans[1], tokens[1])]

    async def mixed_statuses():
        return await asyncio.gather(
            *(aqueue_status(user_id=fan.pk, token=token, batched=True) for fan, token in mixed), return_exceptions=True
        )

    refused, answered = asyncio.run(mixed_statuses())
    assert isinstance(refused, TokenNotFound) and answered.position == 2


@plain_redis_only
def test_streams_opened_together_read_their_keys_and_first_statuses_in_batches(room, settings, monkeypatch):
    settings.QUEUE_REDIS_BATCH_SECONDS = 0.05
    settings.QUEUE_EVENTS_HOLD_MAX_POSITION = 0  # far back: each stream ends after its first status
    queue_enter(user_id=fan_with_key()[0].pk, concert_id=room.pk)  # takes the one place
    fans = [fan_with_key() for _ in range(4)]
    tokens = [queue_enter(user_id=fan.pk, concert_id=room.pk).token for fan, _ in fans]
    batches = count_batches(monkeypatch)
    streams = [Stream(api_key=key, token=token) for (_, key), token in zip(fans, tokens, strict=True)]

    async def open_together():
        await asyncio.gather(*(application(s.scope, s.receive, s.send) for s in streams))

    asyncio.run(open_together())

    assert [[data["position"] for _, data in stream.events()] for stream in streams] == [[1], [2], [3], [4]]
    assert batches == [["GET"] * 4, ["EVALSHA"] * 4]


@plain_redis_only
def test_a_batch_that_finds_redis_down_is_service_unavailable_for_each_call(room, settings, monkeypatch):
    settings.QUEUE_REDIS_BATCH_SECONDS = 0.01
    fan = fan_with_key()[0]
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token
    down = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(aio, "redis_client", lambda: down)

    async def statuses():
        calls = (aqueue_status(user_id=fan.pk, token=token, batched=True) for _ in range(3))
        return await asyncio.gather(*calls, return_exceptions=True)

    answers = asyncio.run(statuses())

    assert all(isinstance(answer, ServiceUnavailable) for answer in answers)


@plain_redis_only
def test_a_bug_in_a_batch_fails_its_callers_instead_of_leaving_them_waiting(room, settings, monkeypatch):
    settings.QUEUE_REDIS_BATCH_SECONDS = 0.01
    fan = fan_with_key()[0]
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token

    def broken():
        raise RuntimeError("a bug")

    monkeypatch.setattr(aio, "redis_client", broken)

    async def statuses():
        calls = (aqueue_status(user_id=fan.pk, token=token, batched=True) for _ in range(2))
        return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=5)

    answers = asyncio.run(statuses())

    assert [str(answer) for answer in answers] == ["a bug", "a bug"]


# -- the fan pages' EventSource: a signed ticket from the waiting page instead of a key ----------


def test_a_waiting_pages_ticket_follows_the_fan_until_admitted_without_a_key(room):
    first, _ = fan_with_key()
    queue_enter(user_id=first.pk, concert_id=room.pk)  # takes the one place
    fan = UserFactory()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token
    ticket = queue_stream_ticket_issue(user_id=fan.pk, token=token)

    stream = run(Stream(api_key=None, query=urlencode({"ticket": ticket})), during=lambda: queue_leave(
        user_id=first.pk, token=queue_enter(user_id=first.pk, concert_id=room.pk).token
    ))  # fmt: skip

    assert stream.status == 200
    statuses = [data["status"] for _, data in stream.events()]
    assert statuses[0] == "WAITING" and statuses[-1] == "ACTIVE" and stream.ended
    assert {data["token"] for _, data in stream.events()} == {token}


@pytest.mark.security
@pytest.mark.parametrize("ticket", ["forged", "another purpose", "expired", "malformed"])
def test_a_ticket_that_is_forged_expired_or_not_a_ticket_gets_no_stream(room, ticket, settings, clock):
    fan = UserFactory()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token
    issued = queue_stream_ticket_issue(user_id=fan.pk, token=token)
    if ticket == "forged":  # another fan's id under the same signature
        payload, signature = issued.split(":", 1)
        other = signing.dumps([fan.pk + 1, token, 2**40], salt="queueing.stream-ticket").split(":", 1)[0]
        issued = f"{other}:{signature}"
    elif ticket == "another purpose":  # the project's key signing the same payload for something else
        issued = signing.dumps([fan.pk, token, 2**40])
    elif ticket == "expired":
        clock.advance(timedelta(seconds=settings.QUEUE_STREAM_TICKET_SECONDS))
    else:
        issued = signing.dumps("not a ticket", salt="queueing.stream-ticket")

    stream = run(Stream(api_key=None, query=urlencode({"ticket": issued})))

    assert (stream.status, json.loads(stream.body)["code"]) == (401, "NOT_AUTHENTICATED")
    assert stream.headers[b"www-authenticate"] == b"Token"


def test_a_ticket_of_a_place_that_ended_gets_token_not_found(room):
    fan = UserFactory()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token
    ticket = queue_stream_ticket_issue(user_id=fan.pk, token=token)
    queue_leave(user_id=fan.pk, token=token)

    stream = run(Stream(api_key=None, query=urlencode({"ticket": ticket})))

    assert (stream.status, json.loads(stream.body)["code"]) == (404, "TOKEN_NOT_FOUND")


def test_gunicorn_answers_an_event_source_with_a_ticket_and_refuses_a_call_with_no_caller(room):
    fan = UserFactory()
    token = queue_enter(user_id=fan.pk, concert_id=room.pk).token
    anonymous = APIClient()

    # As a browser's EventSource asks (DRF's negotiation refused it 406 before the view ran).
    ticket = queue_stream_ticket_issue(user_id=fan.pk, token=token)
    answered = anonymous.get(EVENTS_PATH, {"ticket": ticket}, HTTP_ACCEPT="text/event-stream")
    refused = anonymous.get(EVENTS_PATH, {"token": token}, HTTP_ACCEPT="text/event-stream")

    assert answered.status_code == 200 and '"status":"ACTIVE"' in answered.content.decode()
    assert (refused.status_code, refused.json()["code"], refused["WWW-Authenticate"]) == (
        401,
        "NOT_AUTHENTICATED",
        "Token",
    )

"""Waiting fans are told instead of asking: where a fan stands, as Server-Sent Events.

    GET /api/v1/queue-tokens/current/events   Authorization: Token <key>   X-Queue-Token: <token>
    (or ?token=<token>; an EventSource cannot set headers)
    GET /api/v1/queue-tokens/current/events?ticket=<ticket>   the fan pages' EventSource: a signed
    ticket of the fan's id and token from the waiting page (queueing.services.queue_stream_ticket_issue),
    since this loop runs no Django session machinery

A poll costs a whole HTTP request through gunicorn, Django's middleware and a view (about 1.5 ms
of CPU here); with thousands waiting, polls took most of the server. A stream is opened once, and
each update after that is one Redis round trip (the same poll script, which also records that the
fan is still there) and a few bytes written: about a tenth of the cost.

The stream sends `event: status` with the poll's body (queue_status_data) at once and then, while
the fan waits, every QUEUE_EVENTS_STATUS_EVERY_REFRESHES x `refresh_after_seconds` (the polling
pace, stretched: often near the front, rarely far back; these and the first go to Redis in the
loop's next batch of calls, queueing.aio.run_script_batched), and at once when the fan is
admitted: every admission is published on the concert's channel by the script that makes it
(queueing.scripts, `fill`), and one subscriber per process wakes that fan's stream, so an
admitted place is not left idle until the fan's next status. It
ends after the status that says ACTIVE (the fan goes on to booking), after `event: error` with the
usual {code, message} (404 TOKEN_NOT_FOUND, 503 SERVICE_UNAVAILABLE with retry_after_seconds), or
after QUEUE_EVENTS_MAX_SECONDS (the client connects again), or, for a fan further back than
QUEUE_EVENTS_HOLD_MAX_POSITION, after the first status: its `retry` (the fan's refresh) tells the
client when to connect again, so a held stream (two file descriptors in the proxy, whose number
is fixed per process) is spent only near the front. Refusals before the stream starts
(401, 404, 503) are ordinary JSON answers. Polling GET /api/v1/queue-tokens/current stays, as the
fallback and for clients that cannot stream.

`queue_events_app` is a bare ASGI app, served by uvicorn (config/asgi.py) in its own pool behind
HAProxy: a stream never occupies a gunicorn thread, and Django's per-request machinery runs for
none of its updates. Updates use Redis's asyncio client on the event loop itself (a worker thread
per update cost more in thread hand-offs than the update; with the room on a Redis Cluster, its
asyncio cluster client, while the API-key cache stays on the plain Redis); the answer is read by the poll's own
selector code (status_from_poll). The caller's API key is resolved once per stream, as the poll
resolves it (the Redis cache, SQL on a miss; an ended or expired key is refused), so a stream
opened before its key ended runs on at most until it ends (QUEUE_EVENTS_MAX_SECONDS).
"""

import asyncio
import contextlib
import json
import logging
import math
import weakref
from urllib.parse import parse_qs, urlencode

import redis.asyncio
from django.conf import settings
from prometheus_client import Counter, Gauge
from redis.exceptions import RedisClusterException, RedisError

from accounts.authentication import KEYWORD
from accounts.exceptions import ApiKeyInvalid
from core.exception_handlers import error_answer, error_body
from core.exceptions import ApplicationError
from queueing.aio import caller_id, json_answer, plain_api_key, queue_client, request_headers
from queueing.permissions import QUEUE_TOKEN_HEADER
from queueing.scripts import admitted_channel_pattern
from queueing.selectors import (
    QueueStatus,
    QueueTokenStatus,
    aqueue_status,
    queue_status_data,
)
from queueing.services import TicketEntry, queue_stream_ticket_caller

logger = logging.getLogger(__name__)

EVENTS_PATH = "/api/v1/queue-tokens/current/events"
_QUEUE_TOKEN = QUEUE_TOKEN_HEADER.lower()  # request_headers() gives lower-case names

STREAM_EVENTS = Counter("stagegate_queue_stream_events", "Status events sent to waiting fans' streams")
OPEN_STREAMS = Gauge("stagegate_queue_streams_open", "Waiting fans' open streams", multiprocess_mode="livesum")


def events_url(stream_ticket: str) -> str:
    """The URL a browser's EventSource follows its place with (the stream ticket names fan and token)."""
    return f"{EVENTS_PATH}?{urlencode({'ticket': stream_ticket})}"


def ticket_entry_data(entry: TicketEntry) -> dict:
    """The answer to an entry with a concert page's ticket: the API's, and the place's stream."""
    return queue_status_data(entry.place) | {"events_url": events_url(entry.stream_ticket)}


def status_event(current: QueueStatus) -> bytes:
    """One `status` event; `retry` tells an EventSource how long to wait before it reconnects."""
    data = json.dumps(queue_status_data(current), separators=(",", ":"))
    return f"retry: {current.refresh_after_seconds * 1000}\nevent: status\ndata: {data}\n\n".encode()


def error_event(exc: ApplicationError) -> bytes:
    data = json.dumps(error_body(exc.code, exc.message, **exc.extra), separators=(",", ":"))
    return f"event: error\ndata: {data}\n\n".encode()


async def _admissions_client(attempt: int) -> redis.asyncio.Redis:
    """A client of its own for the admissions subscriber: on the plain Redis, or on one node of
    the cluster (a cluster broadcasts every PUBLISH to all its nodes, so any node hears every
    concert's admissions; each retry tries the next node, so a dead node is left behind)."""
    if not settings.REDIS_CLUSTER_URL:
        return redis.asyncio.Redis.from_url(settings.REDIS_URL)
    cluster, _ = queue_client()
    await cluster.initialize()
    nodes = sorted(cluster.get_nodes(), key=lambda node: node.name)
    node = nodes[attempt % len(nodes)]
    return redis.asyncio.Redis(host=node.host, port=node.port)


# token -> the event that wakes its stream (this process's open streams), and each event loop's
# subscriber to the admissions with the event set once it has subscribed (held here: the loop
# itself keeps only a weak reference to a task).
_wakers: dict[str, asyncio.Event] = {}
_listeners: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[asyncio.Task, asyncio.Event]]" = (
    weakref.WeakKeyDictionary()
)


async def _listen_for_admissions(subscribed: asyncio.Event) -> None:
    """Wake the stream of every admitted token (published by the scripts); reconnects if Redis
    drops, and meanwhile the streams go on at their own pace."""
    # Its own client, outside the streams' pool: a subscription holds its connection for good.
    attempt = 0
    while True:
        client = pubsub = None
        try:
            client = await _admissions_client(attempt)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.psubscribe(admitted_channel_pattern())
            subscribed.set()
            async for message in pubsub.listen():
                waker = _wakers.get(message["data"].decode())
                if waker is not None:
                    waker.set()
        except (RedisError, RedisClusterException):  # the latter: no cluster node answered
            logger.warning("queue events: admissions subscriber lost Redis; retrying")
            attempt += 1
            await asyncio.sleep(1)
        finally:
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()


async def _subscribe_to_admissions() -> None:
    """Start this loop's subscriber if it is not running, and wait (briefly) until it listens:
    a stream reads its status only after that, so no admission can slip in between unheard."""
    loop = asyncio.get_running_loop()
    if loop not in _listeners:
        subscribed = asyncio.Event()
        _listeners[loop] = (loop.create_task(_listen_for_admissions(subscribed)), subscribed)
    subscribed = _listeners[loop][1]
    if not subscribed.is_set():
        with contextlib.suppress(TimeoutError):  # Redis slow or down: the stream still runs at its pace
            await asyncio.wait_for(subscribed.wait(), timeout=2)


async def queue_events_app(scope: dict, receive, send) -> None:
    headers = request_headers(scope)
    if scope["method"] != "GET":
        await json_answer(send, 405, {"code": "METHOD_NOT_ALLOWED", "message": "Use GET."}, {"allow": "GET"})
        return
    api_key = plain_api_key(headers)
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    ticket = (query.get("ticket") or [None])[0]
    if api_key is None and ticket is None:
        answer = error_answer(
            ApiKeyInvalid("Send Authorization: Token <key>, or the waiting page's ?ticket=."), challenge=KEYWORD
        )
        await json_answer(send, answer.status, answer.body, answer.headers)
        return
    token = headers.get(_QUEUE_TOKEN) or (query.get("token") or [None])[0]

    wake = asyncio.Event()  # the fan went away, or was admitted
    try:
        if api_key is not None:
            # Far back, fans connect again every minute or two: the key's read and the first status
            # go in batches (alone, each opening's status cost the loop a tenth of its CPU).
            user_id = await caller_id(api_key, batched=True)
        else:  # a browser's EventSource: the waiting page's ticket names the fan and the token
            user_id, token = queue_stream_ticket_caller(ticket=ticket)
        # Listen for the admission before reading the status: none can slip in between unheard.
        await _subscribe_to_admissions()
        _wakers[token or ""] = wake
        current = await aqueue_status(user_id=user_id, token=token, batched=True)
    except ApplicationError as exc:
        _forget_waker(token, wake)
        answer = error_answer(exc, challenge=KEYWORD)  # a 401 says how to authenticate
        await json_answer(send, answer.status, answer.body, answer.headers)
        return

    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache, no-store"),
                (b"x-accel-buffering", b"no"),
            ],
        }
    )
    gone = asyncio.Event()  # the fan went away
    watcher = asyncio.create_task(_watch_disconnect(receive, gone, wake))
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + settings.QUEUE_EVENTS_MAX_SECONDS
    OPEN_STREAMS.inc()
    previous, wait = None, 0
    try:
        while True:
            # The last status ends the stream in the same write (far back, most streams are one
            # status: an end of its own was a third write through uvicorn and the proxy).
            last = current.status is QueueTokenStatus.ACTIVE or _too_far_back_to_hold(current)
            await send({"type": "http.response.body", "body": status_event(current), "more_body": not last})
            STREAM_EVENTS.inc()
            if last:
                return
            previous, wait = current, _next_status_in(current, previous, wait)
            if loop.time() + wait > ends_at or gone.is_set():
                break
            refresh_at = loop.time() + wait
            while not wake.is_set() and (left := refresh_at - loop.time()) > 0:
                # The fan's refresh time, or a heartbeat (asyncio.timeout: wait_for made a task per wait).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(left, settings.QUEUE_EVENTS_HEARTBEAT_SECONDS)):
                        await wake.wait()
                if not wake.is_set() and refresh_at - loop.time() > 0:
                    # A comment line: proxies and clients see a live stream between far-apart statuses.
                    await send({"type": "http.response.body", "body": b": still there\n\n", "more_body": True})
            if gone.is_set():
                break  # the fan closed the stream
            # An admission is told at once; a status due by the clock goes in the loop's next batch.
            admitted = wake.is_set()
            wake.clear()
            try:
                current = await aqueue_status(user_id=user_id, token=token, batched=not admitted)
            except ApplicationError as exc:
                await send({"type": "http.response.body", "body": error_event(exc), "more_body": False})
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        OPEN_STREAMS.dec()
        watcher.cancel()
        _forget_waker(token, wake)


def _next_status_in(current: QueueStatus, previous: QueueStatus | None, last_wait: int) -> int:
    """Seconds to a held stream's next status. A waiting fan's admission wakes the stream at once,
    so its statuses only move the place on: they come every few refreshes, and while the place
    stalls (every seat held and nobody leaving, say) twice as far apart each time, at most
    QUEUE_REFRESH_MAX_SECONDS; a place that moves on brings back the pace. Any other status (a
    pre-queue fan's comes by the opening) at its refresh."""
    refresh = current.refresh_after_seconds
    if current.status is not QueueTokenStatus.WAITING:
        return refresh
    longest = settings.QUEUE_REFRESH_MAX_SECONDS  # a waiting fan's refresh is never longer
    pace = min(refresh * settings.QUEUE_EVENTS_STATUS_EVERY_REFRESHES, longest)
    if previous is not None and not _moved_on(previous, current):
        return max(pace, min(2 * last_wait, longest))
    return pace


def _moved_on(previous: QueueStatus, current: QueueStatus) -> bool:
    """The place moved on by a tenth of the way, or by one pacing step far back (a few fans
    giving up ahead of a fan 3,000 places back is not news)."""
    if previous.position is None or current.position is None:
        return True
    gained = previous.position - current.position
    return gained >= min(settings.QUEUE_REFRESH_STEP_POSITIONS, math.ceil(previous.position / 10))


def _too_far_back_to_hold(current: QueueStatus) -> bool:
    """Far back in the line the stream is not held: its status said when to connect again."""
    return (
        current.status is QueueTokenStatus.WAITING
        and current.position is not None
        and current.position > settings.QUEUE_EVENTS_HOLD_MAX_POSITION
    )


def _forget_waker(token: str | None, wake: asyncio.Event) -> None:
    if _wakers.get(token or "") is wake:
        del _wakers[token or ""]


async def _watch_disconnect(receive, gone: asyncio.Event, wake: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            wake.set()
            return

"""The waiting room's asyncio side, shared by the bare ASGI apps uvicorn serves (config/asgi.py):
the status streams (queueing.events) and entering (queueing.entering).

Both run on the event loop itself, without Django's request machinery: this loop's Redis clients,
the caller's API key resolved as the gunicorn path resolves it (the Redis cache, SQL on a miss in
a worker thread), a waiting-room script run, and a JSON answer in the API's shape. A storage
failure is ServiceUnavailable (core.outage), as on the gunicorn path.
"""

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import redis.asyncio
from django.conf import settings
from django.db import connection
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from accounts.authentication import (
    api_key_cache_key,
    api_key_from_authorization,
    api_key_user_id,
    api_key_user_id_from_cache,
)
from accounts.exceptions import ApiKeyInvalid
from core.outage import STORAGE_ERRORS, service_unavailable
from queueing.scripts import SCRIPTS, Script

logger = logging.getLogger(__name__)

T = TypeVar("T")

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis]" = weakref.WeakKeyDictionary()


def redis_client() -> redis.asyncio.Redis:
    """This event loop's asyncio Redis client (a client belongs to the loop it was made on)."""
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        # Thousands of callers share a few connections: past them a call waits its turn, however
        # long (a late answer beats an error; an unreachable Redis still fails at once).
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=settings.QUEUE_EVENTS_REDIS_CONNECTIONS, timeout=None
        )
        _clients[loop] = redis.asyncio.Redis(connection_pool=pool)
    return _clients[loop]


_queue_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[RedisCluster, asyncio.Semaphore]]" = (
    weakref.WeakKeyDictionary()
)


def queue_client() -> tuple[redis.asyncio.Redis | RedisCluster, contextlib.AbstractAsyncContextManager]:
    """This event loop's client of the waiting room, and what a call holds while it runs: the
    plain client (redis_client, whose pool makes a call wait its turn), or on a Redis Cluster
    (REDIS_CLUSTER_URL) a cluster client and a semaphore of QUEUE_EVENTS_REDIS_CONNECTIONS turns
    (an asyncio cluster client refuses a call past its connections instead of waiting)."""
    if not settings.REDIS_CLUSTER_URL:
        return redis_client(), contextlib.nullcontext()
    loop = asyncio.get_running_loop()
    if loop not in _queue_clients:
        connections = settings.QUEUE_EVENTS_REDIS_CONNECTIONS
        # A MOVED answer patches the slot table (reinitialize_steps=0): by default every fifth
        # one closes all of the client's connections, the busy ones too, failing the calls in
        # flight (seen with dozens of entries at once).
        client = RedisCluster.from_url(settings.REDIS_CLUSTER_URL, max_connections=connections, reinitialize_steps=0)
        _queue_clients[loop] = (client, asyncio.Semaphore(connections))
    return _queue_clients[loop]


async def run_script(script: Script, keys: list[str], args: list[object]) -> object:
    """One waiting-room script on this loop's queue client (queueing.scripts.run_script's
    asyncio twin). Raises ServiceUnavailable when Redis fails."""
    client, turn = queue_client()
    try:
        async with turn:
            try:
                return await client.evalsha(script.sha, len(keys), *keys, *args)
            except NoScriptError:  # Redis restarted or flushed its scripts (or a replica took over)
                for each in SCRIPTS:
                    await client.script_load(each.source)
                return await client.evalsha(script.sha, len(keys), *keys, *args)
    except STORAGE_ERRORS as exc:
        logger.exception("waiting room (asyncio): storage failed")
        raise service_unavailable() from exc


# This loop's calls waiting for the next batch (run_script_batched, redis_get_batched), and the
# batches in flight (held here: the loop keeps only a weak reference to a task).
_batches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_BatchedCall]]" = weakref.WeakKeyDictionary()
_batches_in_flight: set[asyncio.Task] = set()


@dataclass(frozen=True)
class _BatchedCall:
    command: tuple[object, ...]
    answer: asyncio.Future
    # Runs the call alone when Redis answered NoScriptError (it lost its scripts): run_script
    # loads them again.
    alone: Callable[[], Awaitable[object]] | None = None


async def run_script_batched(script: Script, keys: list[str], args: list[object]) -> object:
    """run_script, sent in one pipeline with this loop's other batched calls, at most
    QUEUE_REDIS_BATCH_SECONDS after the first of them: one round trip for many. Alone, a call
    costs the loop about four times the CPU of one in a batch of ten; for the waiting crowd's
    calls that can wait that long (entries, leaves, statuses due by the clock). On a Redis
    Cluster each call goes alone."""
    if settings.REDIS_CLUSTER_URL:
        return await run_script(script, keys, args)
    command = ("EVALSHA", script.sha, len(keys), *keys, *args)
    return await _batched(command, alone=lambda: run_script(script, keys, args))


async def redis_get_batched(key: str) -> bytes | None:
    """redis_get in this loop's next batch (see run_script_batched)."""
    return await _batched(("GET", key))


async def redis_command_batched(*command: object) -> object:
    """Any command of the plain Redis in this loop's next batch (see run_script_batched)."""
    return await _batched(command)


async def _batched(command: tuple[object, ...], alone: Callable[[], Awaitable[object]] | None = None) -> object:
    loop = asyncio.get_running_loop()
    if loop not in _batches:
        _batches[loop] = []
        if settings.QUEUE_REDIS_BATCH_SECONDS > 0:
            loop.call_later(settings.QUEUE_REDIS_BATCH_SECONDS, _send_batch, loop)
        else:  # the calls made in this pass of the loop
            loop.call_soon(_send_batch, loop)
    call = _BatchedCall(command, loop.create_future(), alone)
    _batches[loop].append(call)
    return await call.answer


def _send_batch(loop: asyncio.AbstractEventLoop) -> None:
    task = loop.create_task(_run_batch(_batches.pop(loop, [])))
    _batches_in_flight.add(task)
    task.add_done_callback(_batches_in_flight.discard)


async def _run_batch(calls: list[_BatchedCall]) -> None:
    try:
        async with redis_client().pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.execute_command(*call.command)
            answers = await pipe.execute(raise_on_error=False)
    except STORAGE_ERRORS:
        logger.exception("asyncio, batched: storage failed")
        answers = [service_unavailable() for _ in calls]
    except Exception as exc:  # noqa: BLE001 - a bug: every caller fails with it, none waits for ever
        answers = [exc] * len(calls)
    for call, answer in zip(calls, answers, strict=True):
        if isinstance(answer, NoScriptError) and call.alone is not None:
            try:
                answer = await call.alone()
            except Exception as exc:  # noqa: BLE001 - ServiceUnavailable, or a bug: the caller's answer
                answer = exc
        elif isinstance(answer, STORAGE_ERRORS):
            logger.error("asyncio, batched: %s", answer)
            answer = service_unavailable()
        if call.answer.done():  # its caller went away (a stream closed) meanwhile
            continue
        if isinstance(answer, Exception):
            call.answer.set_exception(answer)
        else:
            call.answer.set_result(answer)


async def in_thread(function: Callable[..., T], /, **kwargs) -> T:
    """Run blocking Django code (SQL) in a worker thread. No request cycle looks after the
    thread's connection here, so this does as Django does at a request's end (kept up to
    CONN_MAX_AGE, closed when broken), and a storage failure is ServiceUnavailable."""

    def call() -> T:
        try:
            return function(**kwargs)
        except STORAGE_ERRORS as exc:
            raise service_unavailable() from exc
        finally:
            connection.close_if_unusable_or_obsolete()

    return await asyncio.to_thread(call)


async def redis_get(key: str) -> bytes | None:
    """A key's value from this loop's plain Redis. Raises ServiceUnavailable when Redis fails."""
    try:
        return await redis_client().get(key)
    except STORAGE_ERRORS as exc:
        logger.exception("asyncio: storage failed")
        raise service_unavailable() from exc


async def caller_id(api_key: str, *, batched: bool = False) -> int:
    """The API key's user id, as the gunicorn path resolves it (the Redis cache, SQL on a miss);
    `batched`: the cache read in this loop's next batch (redis_get_batched). Raises ApiKeyInvalid
    for an unknown, revoked or expired key, ServiceUnavailable."""
    cached = await (redis_get_batched if batched else redis_get)(api_key_cache_key(api_key))
    if cached is not None:
        user_id = api_key_user_id_from_cache(api_key, cached)
    else:
        user_id = await in_thread(api_key_user_id, api_key=api_key)
    if user_id is None:
        raise ApiKeyInvalid()
    return user_id


def request_headers(scope: dict) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


def plain_api_key(headers: dict[str, str]) -> str | None:
    """The key of a well-formed `Authorization: Token <key>` header, else None."""
    return api_key_from_authorization(headers.get("authorization", ""))


async def json_answer(send, status: int, body: dict, extra_headers: dict[str, str] | None = None) -> None:
    await send_answer(
        send, status, json.dumps(body).encode(), {"content-type": "application/json"} | (extra_headers or {})
    )


async def send_answer(send, status: int, body: bytes, headers: dict[str, str]) -> None:
    """One whole HTTP answer through ASGI: the headers (with the body's length, but on a 204 or a
    304, which have no body) and the body."""
    fields = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    if status not in (204, 304):
        fields.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": fields})
    await send({"type": "http.response.body", "body": body})

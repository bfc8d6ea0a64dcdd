"""Test helpers: where a token stands, counting Redis round trips, reading a room's raw state,
calling the ASGI application as uvicorn does."""

import asyncio
import contextlib
from dataclasses import dataclass

from django.conf import settings
from redis import Redis
from redis.cluster import RedisCluster
from redis.connection import AbstractConnection

from config.asgi import application
from core.redis import queue_on_cluster, queue_redis, redis_client
from queueing import aio
from queueing.exceptions import TokenNotFound
from queueing.scripts import concert_keys
from queueing.selectors import QueueStatus, QueueTokenStatus, queue_status


@dataclass
class RoundTrips:
    count: int = 0


@contextlib.contextmanager
def count_redis_round_trips():
    """Counts requests written to any Redis connection: one per command, one per pipeline."""
    counter = RoundTrips()
    original = AbstractConnection.send_packed_command

    def spy(self, command, check_health=True):
        counter.count += 1
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = spy
    try:
        yield counter
    finally:
        AbstractConnection.send_packed_command = original


def token_status(*, user_id: int, token: str) -> QueueStatus | None:
    """Where the user's token stands, as the fan's poll sees it (queue_status), or None when it is
    gone (left, removed, ended). A waiting token is marked as seen, as a poll does."""
    try:
        return queue_status(user_id=user_id, token=token)
    except TokenNotFound:
        return None


def token_active(*, user_id: int, token: str) -> bool:
    """Whether the user's token is ACTIVE (admitted, the session not ended)."""
    current = token_status(user_id=user_id, token=token)
    return current is not None and current.status is QueueTokenStatus.ACTIVE


def queue_redis_for_key(key: str) -> Redis:
    """A plain client of the Redis that serves `key`: queue_redis, or on a cluster the master of
    the key's slot. For pipelines of scripts over one concert's keys (one slot): redis-py's
    cluster pipeline refuses EVALSHA."""
    client = queue_redis()
    if isinstance(client, RedisCluster):
        return client.get_redis_connection(client.get_node_from_key(key))
    return client


@dataclass
class RoomState:
    waiting: list[str]
    active: list[str]
    admits: list[str]
    tokens: dict[str, int]
    users: dict[int, str]
    prequeue: list[str]  # in the order the opening will place them
    seen: dict[str, float]


def room_state(concert_id: int) -> RoomState:
    waiting, active, tokens, users, _meta, admits, prequeue, seen, _abandons = concert_keys(concert_id)
    client = queue_redis()
    return RoomState(
        waiting=[t.decode() for t in client.zrange(waiting, 0, -1)],
        active=[t.decode() for t in client.zrange(active, 0, -1)],
        admits=[t.decode() for t in client.zrange(admits, 0, -1)],
        tokens={k.decode(): int(v) for k, v in client.hgetall(tokens).items()},
        users={int(k): v.decode() for k, v in client.hgetall(users).items()},
        prequeue=[t.decode() for t in client.zrange(prequeue, 0, -1)],
        seen={t.decode(): score for t, score in client.zrange(seen, 0, -1, withscores=True)},
    )


def redis_restart() -> int:
    """What a restart of a Redis without persistence does to this test run: every key under the
    run's prefix is gone (never FLUSHALL: other runs share the server), on the Redis Cluster too
    when the waiting room runs on one. Returns how many."""
    deleted = 0
    for client in (redis_client(), queue_redis()) if queue_on_cluster() else (redis_client(),):
        keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:*", count=1000))
        deleted += client.delete(*keys) if keys else 0
    return deleted


async def asgi_request(scope: dict) -> tuple[int, dict[str, str], bytes]:
    """config.asgi's answer to one HTTP request with an empty body, as uvicorn calls it: the
    status, the headers (names in lower case) and the body."""
    sent, requested = [], []

    async def receive():
        if not requested:  # the (empty) request body, then nothing: the client waits for the answer
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    start, *bodies = sent
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return start["status"], headers, b"".join(message.get("body", b"") for message in bodies)


def count_batches(monkeypatch) -> list[list[str]]:
    """The event loop's batches of Redis calls (queueing.aio), each as its commands' names, as
    they are sent: the real batches, counted."""
    batches: list[list[str]] = []
    run_batch = aio._run_batch

    async def counted(calls):
        batches.append([call.command[0] for call in calls])
        await run_batch(calls)

    monkeypatch.setattr(aio, "_run_batch", counted)
    return batches

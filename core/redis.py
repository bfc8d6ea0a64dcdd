"""The shared Redis connection (the same pool django-redis uses), the waiting room's Redis (the
same, or a Redis Cluster: REDIS_CLUSTER_URL) and key naming."""

import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django_redis import get_redis_connection
from redis import Redis
from redis.client import Pipeline
from redis.cluster import RedisCluster
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def redis_client() -> Redis:
    """The plain Redis of REDIS_URL: the cache (sessions, rate limits, the API-key cache), metrics,
    seat-map versions; and the waiting room unless it runs on a Redis Cluster."""
    return get_redis_connection("default")


def redis_writes_on_commit(write: Callable[[Pipeline], None]) -> None:
    """Once the current transaction commits, send what `write(pipe)` queues to the shared Redis in
    one round trip (a pipeline, not MULTI: each command stands alone). The commit has happened by
    then: a failure is logged, not raised (robust: the rest of the after-commit work still runs)."""

    def send() -> None:
        try:
            with redis_client().pipeline(transaction=False) as pipe:
                write(pipe)
                pipe.execute()
        except RedisError:
            logger.exception("after-commit Redis writes (%s) not sent", write.__qualname__)

    transaction.on_commit(send, robust=True)


def queue_on_cluster() -> bool:
    """The waiting room runs on the Redis Cluster of REDIS_CLUSTER_URL."""
    return bool(settings.REDIS_CLUSTER_URL)


def queue_redis() -> Redis | RedisCluster:
    """The waiting room's Redis (queueing.scripts' keys): the Redis Cluster of REDIS_CLUSTER_URL
    when set, else the shared connection (redis_client)."""
    url = settings.REDIS_CLUSTER_URL
    return _cluster_client(url) if url else redis_client()


@functools.cache
def _cluster_client(url: str) -> RedisCluster:
    # One per process and URL: it keeps the slot table and a connection pool per node. A forked
    # process (gunicorn, Celery) makes new connections (redis-py checks the pid).
    return RedisCluster.from_url(url)


def redis_text(value: bytes | str) -> str:
    """A Redis reply as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value


def redis_key(*parts: object) -> str:
    """A key under this deployment's prefix: redis_key("queue", "{c42}", "waiting")."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])

"""Storage outages, handled one way everywhere: PostgreSQL or Redis unreachable, or a connection
cut mid-request, is a 503 SERVICE_UNAVAILABLE with Retry-After (SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS),
never a 500. Nothing was committed, so the client retries (a payment with the same Idempotency-Key).

- `storage_boundary` wraps a service or selector that talks to Redis or PostgreSQL itself (the
  waiting room, the API-key cache): a storage error becomes the domain error ServiceUnavailable.
- DRF views: core.exception_handlers maps STORAGE_ERRORS the same way.
- Everything else (the queue's lean fast path, the fan pages, plain Django views):
  core.exception_handlers.StorageOutageMiddleware answers the same 503.
- The bare ASGI apps (queueing.events, queueing.entering, through queueing.aio) raise
  service_unavailable() from the same errors.
"""

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisClusterException, RedisError

from core.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

# Redis unreachable or failing (a Redis Cluster none of whose nodes answers, or a slot no node
# serves in the middle of a failover: RedisClusterException); PostgreSQL unreachable or its
# connection cut.
STORAGE_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException, OperationalError, InterfaceError)


def service_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(retry_after_seconds=settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)


def storage_boundary(func: Callable[P, R]) -> Callable[P, R]:
    """A storage error inside `func` becomes ServiceUnavailable (503 with Retry-After)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except STORAGE_ERRORS as exc:
            logger.exception("storage unavailable in %s", func.__name__)
            raise service_unavailable() from exc

    return wrapper

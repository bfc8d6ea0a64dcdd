"""Storage outages, handled one way everywhere: PostgreSQL or Redis unreachable, or a connection
cut mid-request, is a 503 SERVICE_UNAVAILABLE with Retry-After (SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS),
never a 500. Nothing was committed, so the client retries (a payment with the same Idempotency-Key).

- `storage_boundary` wraps a service or selector that talks to Redis or PostgreSQL itself (the
  waiting room, the API-key cache): a storage error becomes the domain error ServiceUnavailable.
- DRF views: core.exception_handlers maps STORAGE_ERRORS the same way.
- Everything else (the queue's lean fast path, the fan pages, plain Django views):
  `StorageOutageMiddleware` answers the same 503.
- The ASGI event stream (queueing.events) raises service_unavailable() from the same errors.
"""

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from redis.exceptions import RedisClusterException, RedisError

from core.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

API_PREFIX = "/api/"
UNAVAILABLE_TEMPLATE = "pages/unavailable.html"  # the same page the fan pages show (pages.common.outage_page)
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


def service_unavailable_response(exc: ServiceUnavailable) -> JsonResponse:
    """The 503 answer outside DRF, shaped as core.exception_handlers shapes it."""
    response = JsonResponse({"code": exc.code, "message": exc.message, **exc.extra}, status=exc.status)
    response["Retry-After"] = str(int(exc.extra["retry_after_seconds"]))
    return response


class StorageOutageMiddleware:
    """A storage error that escaped a view (no DRF handler, no storage_boundary) answers 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ServiceUnavailable):
            exc = exception
        elif isinstance(exception, STORAGE_ERRORS):
            logger.error("storage unavailable", exc_info=exception)
            exc = service_unavailable()
        else:
            return None
        if not request.path.startswith(API_PREFIX):
            page = _unavailable_page(request, exc)
            if page is not None:
                return page
        return service_unavailable_response(exc)


def _unavailable_page(request: HttpRequest, exc: ServiceUnavailable) -> HttpResponse | None:
    """The fan pages' "try again in a moment" page, if it can be drawn without the storage that
    failed (the page header reads the session and the user); else None (the JSON answer)."""
    retry_after = int(exc.extra["retry_after_seconds"])
    try:
        response = render(request, UNAVAILABLE_TEMPLATE, {"retry_after_seconds": retry_after}, status=exc.status)
    except Exception:  # noqa: BLE001 - the storage is down: any failure to draw the page falls back
        logger.warning("storage unavailable: the try-again page could not be drawn either")
        return None
    response["Retry-After"] = str(retry_after)
    return response

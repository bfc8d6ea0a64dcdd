"""Errors become HTTP answers here, in one place: the SPEC's body {"code": "UPPER_SNAKE",
"message": "...", ...}, the status and the headers.

- `error_answer`: a domain error (ApplicationError) as its status, body and headers (Retry-After,
  WWW-Authenticate). Everything that answers one uses it: DRF's handler (api_exception_handler),
  the queue's lean path and event stream (`error_response`, queueing), the fan pages for the
  headers of the pages they draw (`refusal_headers_set`), and the storage-outage middleware.
- `api_exception_handler`: DRF's handler, also for DRF's own exceptions and storage errors.
- `StorageOutageMiddleware`: a storage outage that escaped a view answers 503 (core.outage).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.exceptions import ApplicationError, ServiceUnavailable
from core.outage import STORAGE_ERRORS, service_unavailable

logger = logging.getLogger(__name__)

# DRF's own exceptions, by class, to our codes. Checked in order (subclasses first).
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "VALIDATION_ERROR"),
    (exceptions.ParseError, "MALFORMED_REQUEST"),
    (exceptions.NotAuthenticated, "NOT_AUTHENTICATED"),
    (exceptions.AuthenticationFailed, "NOT_AUTHENTICATED"),
    (exceptions.PermissionDenied, "PERMISSION_DENIED"),
    (exceptions.NotFound, "NOT_FOUND"),
    (exceptions.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (exceptions.NotAcceptable, "NOT_ACCEPTABLE"),
    (exceptions.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.Throttled, "RATE_LIMITED"),
]


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def server_error_body() -> dict[str, Any]:
    """The body of an API's 500: a bug, never a refusal (core.views.server_error, the bare ASGI apps)."""
    return error_body("SERVER_ERROR", "Something went wrong on our side.")


@dataclass(frozen=True)
class ErrorAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def error_answer(exc: ApplicationError, *, challenge: str | None = None) -> ErrorAnswer:
    """A domain error as its HTTP answer: its status; `{code, message, ...extra}`; Retry-After when
    it says how long to wait (retry_after_seconds); on a 401, WWW-Authenticate with `challenge`
    (the scheme the caller should use) when the caller gives one."""
    headers = {}
    retry_after = exc.extra.get("retry_after_seconds")
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    if exc.status == 401 and challenge:
        headers["WWW-Authenticate"] = challenge
    return ErrorAnswer(exc.status, error_body(exc.code, exc.message, **exc.extra), headers)


def error_response(exc: ApplicationError, *, challenge: str | None = None) -> JsonResponse:
    """The answer outside DRF (the queue's lean path, the outage middleware, the seat page's refresh)."""
    answer = error_answer(exc, challenge=challenge)
    return JsonResponse(answer.body, status=answer.status, headers=answer.headers)


def refusal_headers_set(response: HttpResponse, exc: ApplicationError) -> HttpResponse:
    """A page drawn for a refusal (a fan page) carries the refusal's headers (Retry-After)."""
    for name, value in error_answer(exc).headers.items():
        response[name] = value
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, STORAGE_ERRORS):
        # Redis or PostgreSQL unreachable, a connection cut mid-request (core.outage): nothing was
        # committed, so a clear 503 tells the client to retry (with the same Idempotency-Key).
        logger.exception("storage unavailable")
        exc = service_unavailable()
    if isinstance(exc, ApplicationError):
        # A 401 names the scheme to use (RFC 9110), as DRF's own 401s do.
        view, request = context.get("view"), context.get("request")
        challenge = view.get_authenticate_header(request) if view is not None and request is not None else None
        answer = error_answer(exc, challenge=challenge)
        return Response(answer.body, status=answer.status, headers=answer.headers)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500

    code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "ERROR")
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(code, "The request is not valid.", errors=_as_errors(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(code, str(detail))
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response.status_code = status.HTTP_401_UNAUTHORIZED
    return response


def _as_errors(detail: Any) -> Any:
    """DRF's ValidationError detail as plain data: {"field": ["message", ...]}.

    A list or object of more than API_ERROR_DETAILS_MAX entries keeps that many and says how many
    more there were, so an answer stays small whatever the request (400,000 invalid seat ids once
    made a 20 MB answer)."""
    limit = settings.API_ERROR_DETAILS_MAX
    if isinstance(detail, dict):
        items = list(detail.items())
        errors = {str(key): _as_errors(value) for key, value in items[:limit]}
        if len(items) > limit:
            errors["..."] = f"and {len(items) - limit} more"
        return errors
    if isinstance(detail, list):
        errors = [_as_errors(item) for item in detail[:limit]]
        if len(detail) > limit:
            errors.append(f"... and {len(detail) - limit} more")
        return errors
    return str(detail)


API_PREFIX = "/api/"
UNAVAILABLE_TEMPLATE = "pages/unavailable.html"  # the same page the fan pages show (pages.common.outage_page)


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
        return error_response(exc)


def _unavailable_page(request: HttpRequest, exc: ServiceUnavailable) -> HttpResponse | None:
    """The fan pages' "try again in a moment" page, if it can be drawn without the storage that
    failed (the page header reads the session and the user); else None (the JSON answer)."""
    retry_after = int(exc.extra["retry_after_seconds"])
    try:
        response = render(request, UNAVAILABLE_TEMPLATE, {"retry_after_seconds": retry_after}, status=exc.status)
    except Exception:  # noqa: BLE001 - the storage is down: any failure to draw the page falls back
        logger.warning("storage unavailable: the try-again page could not be drawn either")
        return None
    return refusal_headers_set(response, exc)

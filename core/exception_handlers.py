"""Maps every API error to the SPEC's body: {"code": "UPPER_SNAKE", "message": "...", ...}."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.exceptions import ApplicationError
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


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, STORAGE_ERRORS):
        # Redis or PostgreSQL unreachable, a connection cut mid-request (core.outage): nothing was
        # committed, so a clear 503 tells the client to retry (with the same Idempotency-Key).
        logger.exception("storage unavailable")
        exc = service_unavailable()
    if isinstance(exc, ApplicationError):
        headers = {}
        retry_after = exc.extra.get("retry_after_seconds")
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        return Response(error_body(exc.code, exc.message, **exc.extra), status=exc.status, headers=headers)

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

"""A request id on every log line: taken from the X-Request-ID header (a proxy's) or made here,
echoed in the response, and added to each log record by `RequestIdLogFilter`."""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_current: ContextVar[str] = ContextVar("request_id", default="-")
# Accept a caller's id only if it is short and plain, so logs cannot be forged or flooded.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    return _current.get()


def request_id_begin(incoming: str) -> str:
    """The request's id (the caller's if safe, else a new one), set for its log lines."""
    request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
    # Not reset on the way out: Django logs a request's 4xx/5xx after the middleware returns,
    # and each request sets its own id before anything else runs.
    _current.set(request_id)
    return request_id


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_begin(request.headers.get(REQUEST_ID_HEADER, ""))
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True

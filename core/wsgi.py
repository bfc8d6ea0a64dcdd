"""The WSGI application gunicorn serves, with the unread request body drained.

An early answer (a 401 before authentication succeeds, a 404 for an unknown path, a 403 of the
queue guard) leaves the request body unread. gunicorn then drains at most 64 KB of it after the
response, and if more is left it closes the connection although its answer announced keep-alive:
the client's next request on that connection fails with "connection closed without response".
(gunicorn ignores a `Connection: close` set by the application, so the application cannot warn
the client instead.) Reading the rest of the body here, after the application has answered and
before gunicorn looks, keeps the connection usable. Bodies larger than
REQUEST_BODY_DRAIN_MAX_BYTES are left to gunicorn (a client uploading that much is no fan).
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

_CHUNK = 64 * 1024


def drain_unread_body(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        result = app(environ, start_response)
        _drain(environ)
        return result

    return application


def _drain(environ: dict[str, Any]) -> None:
    stream = environ.get("wsgi.input")
    limit = settings.REQUEST_BODY_DRAIN_MAX_BYTES
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if stream is None or length > limit or (length <= 0 and not chunked):
        return
    drained = 0
    try:
        while drained <= limit:
            data = stream.read(_CHUNK)
            if not data:
                return
            drained += len(data)
    except OSError:  # the client went away: gunicorn finds the connection closed
        return

"""Entering a waiting room from uvicorn's event loop:

    POST /api/v1/concerts/<id>/queue-tokens   Authorization: Token <key>

In an on-sale rush every fan enters within the same minute, and through gunicorn each entry
paid for a whole Django request (the middleware, a thread hand-off, gunicorn's own HTTP parsing)
around a few hundred microseconds of queue work. Here, as the status streams are served
(queueing.events), an entry is the service's asyncio twin (queueing.services
aqueue_enter_for_api_key: the same checks, the same ENTER script with its rate limits, the same
answer) in a bare ASGI app, so the entering minute takes less of the cores that the admitted
fans' holds and payments need.

The answers are the API's: 201 with a new token or 200 with the one already held (the body of
queue_status_data), errors as `{code, message}` with their headers (core.exception_handlers).
Only calls with a well-formed `Authorization: Token` come here (config/asgi.py, and HAProxy's
routing); a session's entry (the fan pages) and anything malformed go to Django as before, whose
view (queueing.apis.QueueTokenCreateApi) is the documented, equivalent implementation.
"""

import logging
import re
import time

from django_prometheus.middleware import Metrics

from accounts.authentication import KEYWORD
from core.exception_handlers import error_answer, server_error_body
from core.exceptions import ApplicationError
from core.request_id import REQUEST_ID_HEADER, request_id_begin
from core.throttling import client_ip_from
from queueing.aio import json_answer, plain_api_key, request_headers
from queueing.selectors import queue_status_data
from queueing.services import aqueue_enter_for_api_key

logger = logging.getLogger(__name__)

ENTER_PATH = re.compile(r"/api/v1/concerts/(?P<concert_id>[0-9]{1,18})/queue-tokens")
# The Django view's URL name: the server-side latency is recorded under it, as for the Django path.
_VIEW_NAME = "queue-token-create"


def enter_route(scope: dict) -> int | None:
    """The concert id when this request is an entry this app serves (POST, the enter path,
    `Authorization: Token <key>`), else None (Django serves it)."""
    if scope["method"] != "POST":
        return None
    match = ENTER_PATH.fullmatch(scope["path"])
    if match is None or plain_api_key(request_headers(scope)) is None:
        return None
    return int(match["concert_id"])


async def queue_enter_app(scope: dict, receive, send, *, concert_id: int) -> None:
    started = time.perf_counter()
    headers = request_headers(scope)
    request_id = request_id_begin(headers.get(REQUEST_ID_HEADER.lower(), ""))
    answer_headers = {REQUEST_ID_HEADER: request_id, "X-Content-Type-Options": "nosniff"}
    peer = scope.get("client")
    try:
        current = await aqueue_enter_for_api_key(
            api_key=plain_api_key(headers),
            concert_id=concert_id,
            client_ip=client_ip_from(forwarded_for=headers.get("x-forwarded-for"), remote_addr=peer and peer[0]),
        )
    except ApplicationError as exc:
        refusal = error_answer(exc, challenge=KEYWORD)
        await json_answer(send, refusal.status, refusal.body, answer_headers | refusal.headers)
    except Exception:  # a bug: the API's JSON 500, as Django's handler500 answers it
        logger.exception("entering: unexpected error")
        await json_answer(send, 500, server_error_body(), answer_headers)
    else:
        await json_answer(send, 201 if current.created else 200, queue_status_data(current), answer_headers)
    Metrics.get_instance().requests_latency_by_view_method.labels(view=_VIEW_NAME, method="POST").observe(
        time.perf_counter() - started
    )

"""Entering and leaving a waiting room from uvicorn's event loop:

    POST   /api/v1/concerts/<id>/queue-tokens   Authorization: Token <key>
    POST   /api/v1/concerts/<id>/queue-tokens?ticket=<entry ticket>   the concert page's button
    DELETE /api/v1/queue-tokens/current          Authorization: Token <key>   X-Queue-Token: <token>

In an on-sale rush every fan enters within the same minute, and through gunicorn each entry
paid for a whole Django request (the middleware, a thread hand-off, gunicorn's own HTTP parsing)
around a few hundred microseconds of queue work. Here, as the status streams are served
(queueing.events), an entry is the service's asyncio twin (queueing.services
aqueue_enter_for_api_key: the same checks, the same ENTER script with its rate limits, the same
answer) in a bare ASGI app, so the entering minute takes less of the cores that the admitted
fans' holds and payments need. Leaving is the same for the thousands who give up or see the
show sold out (aqueue_leave_for_api_key: the LEAVE script, the freed place handed on at once).

A website crowd enters the same way: the concert page's button (static/js/enter.js) posts the
page's signed entry ticket (queueing.services.queue_entry_ticket_issue) instead of a key, and gets
with its place the URL of its event stream (with a stream ticket): no session, form or waiting
page on the way in, which cost Django ~7 ms of a website fan's ~12 (the page draws the waiting
room itself; the form and the waiting page remain for browsers without scripts).

The answers are the API's: 201 with a new token or 200 with the one already held (the body of
queue_status_data, with `events_url` for a ticket's entry), 204 for a leave, errors as
`{code, message}` with their headers (core.exception_handlers). Only calls with a well-formed
`Authorization: Token` or an entry ticket come here (config/asgi.py, and HAProxy's routing); a
session's call (the fan pages' form) and anything malformed go to Django as before, whose views
(queueing.apis QueueTokenCreateApi, QueueTokenCurrentApi) are the documented, equivalent
implementation.
"""

import logging
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from django_prometheus.middleware import Metrics

from accounts.authentication import KEYWORD
from core.exception_handlers import error_answer, server_error_body
from core.exceptions import ApplicationError
from core.request_id import REQUEST_ID_HEADER, request_id_begin
from core.throttling import client_ip_from
from queueing.aio import json_answer, plain_api_key, request_headers, send_answer
from queueing.events import ticket_entry_data
from queueing.permissions import QUEUE_TOKEN_HEADER
from queueing.selectors import queue_status_data
from queueing.services import aqueue_enter_for_api_key, aqueue_enter_with_entry_ticket, aqueue_leave_for_api_key

logger = logging.getLogger(__name__)

ENTER_PATH = re.compile(r"/api/v1/concerts/(?P<concert_id>[0-9]{1,18})/queue-tokens")
LEAVE_PATH = "/api/v1/queue-tokens/current"
_QUEUE_TOKEN = QUEUE_TOKEN_HEADER.lower()  # request_headers() gives lower-case names
# The Django views' URL names: the server-side latency is recorded under them, as for the Django path.
_ENTER_VIEW_NAME = "queue-token-create"
_LEAVE_VIEW_NAME = "queue-token-current"


def enter_route(scope: dict) -> int | None:
    """The concert id when this request is an entry this app serves (POST, the enter path,
    `Authorization: Token <key>` or an entry ticket), else None (Django serves it)."""
    if scope["method"] != "POST":
        return None
    match = ENTER_PATH.fullmatch(scope["path"])
    if match is None or (plain_api_key(request_headers(scope)) is None and _entry_ticket(scope) is None):
        return None
    return int(match["concert_id"])


def _entry_ticket(scope: dict) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("ticket") or [None])[0]


def leave_route(scope: dict) -> bool:
    """Whether this request is a leave this app serves (DELETE, the current token's path,
    `Authorization: Token <key>`); else Django serves it."""
    return (
        scope["method"] == "DELETE"
        and scope["path"] == LEAVE_PATH
        and plain_api_key(request_headers(scope)) is not None
    )


async def queue_enter_app(scope: dict, receive, send, *, concert_id: int) -> None:
    async def enter(headers: dict[str, str]) -> tuple[int, dict]:
        peer = scope.get("client")
        ip = client_ip_from(forwarded_for=headers.get("x-forwarded-for"), remote_addr=peer and peer[0])
        api_key = plain_api_key(headers)
        if api_key is not None:
            current = await aqueue_enter_for_api_key(api_key=api_key, concert_id=concert_id, client_ip=ip)
            return (201 if current.created else 200), queue_status_data(current)
        entry = await aqueue_enter_with_entry_ticket(ticket=_entry_ticket(scope), concert_id=concert_id, client_ip=ip)
        return (201 if entry.place.created else 200), ticket_entry_data(entry)

    await _serve(scope, send, enter, view=_ENTER_VIEW_NAME, method="POST")


async def queue_leave_app(scope: dict, receive, send) -> None:
    async def leave(headers: dict[str, str]) -> tuple[int, None]:
        await aqueue_leave_for_api_key(api_key=plain_api_key(headers), token=headers.get(_QUEUE_TOKEN))
        return 204, None

    await _serve(scope, send, leave, view=_LEAVE_VIEW_NAME, method="DELETE")


async def _serve(
    scope: dict,
    send,
    call: Callable[[dict[str, str]], Awaitable[tuple[int, dict | None]]],
    *,
    view: str,
    method: str,
) -> None:
    """Answer one call as the API does: its status and JSON body (none for a 204), a refusal's
    `{code, message}`, a bug's JSON 500; with the request id, and its latency in the metrics."""
    started = time.perf_counter()
    headers = request_headers(scope)
    request_id = request_id_begin(headers.get(REQUEST_ID_HEADER.lower(), ""))
    answer_headers = {REQUEST_ID_HEADER: request_id, "X-Content-Type-Options": "nosniff"}
    try:
        status, body = await call(headers)
    except ApplicationError as exc:
        refusal = error_answer(exc, challenge=KEYWORD)
        await json_answer(send, refusal.status, refusal.body, answer_headers | refusal.headers)
    except Exception:  # a bug: the API's JSON 500, as Django's handler500 answers it
        logger.exception("waiting room (event loop): unexpected error")
        await json_answer(send, 500, server_error_body(), answer_headers)
    else:
        if body is None:
            await send_answer(send, status, b"", answer_headers)
        else:
            await json_answer(send, status, body, answer_headers)
    Metrics.get_instance().requests_latency_by_view_method.labels(view=view, method=method).observe(
        time.perf_counter() - started
    )

"""The seat map served from an event loop (uvicorn), for API callers:

    GET /api/v1/shows/<id>/seats   Authorization: Token <key>   X-Queue-Token: <token>

Every admitted fan reads the map of the show several times while choosing seats: in the rush it
is the most frequent call of the booking path (11-12 thousand reads for 10,000 fans). Its answer
is a kept snapshot (concerts.seat_map), so through gunicorn nearly all of a read's CPU was
Django's request machinery around two Redis round trips, taken from the holds and payments on
the same cores. Here, as entering is served (queueing.entering), a read is the same steps on the
event loop: the key's user and the token's place (queueing.selectors.aqueue_caller_in_room), the
show from the catalog memo, the booking guard's rule (queueing.services.queue_require_active),
the map's version, and the kept body with its ETag (304 for If-None-Match). Only a rebuild of the
map (at most once per SEAT_MAP_REBUILD_SECONDS per process) and a lookup missing from a memo run
SQL, in a worker thread.

It runs in its own uvicorn pool at the booking path's priority (HAProxy backend "reads"), not in
the waiting room's, which is niced. The answers are the Django view's
(reservations.apis.ShowSeatListApi, the documented implementation, which serves every other seat
map read: the fan pages' session callers, a call without X-Queue-Token, anything malformed).
"""

import asyncio
import logging
import re
import time

from django_prometheus.middleware import Metrics

from accounts.authentication import INVALID_KEY_MESSAGE, KEYWORD
from accounts.exceptions import ApiKeyInvalid
from concerts.models import Show
from concerts.seat_map import SeatMap, kept_seat_map, seat_map_version_key, show_seat_map
from concerts.selectors import show_get_cached, show_get_memoized
from core.clock import clock
from core.exception_handlers import error_answer, server_error_body
from core.exceptions import ApplicationError, NotAuthenticated
from core.outage import STORAGE_ERRORS, service_unavailable
from core.redis import redis_text
from core.request_id import REQUEST_ID_HEADER, request_id_begin
from queueing.aio import in_thread, json_answer, plain_api_key, redis_client, request_headers
from queueing.permissions import QUEUE_TOKEN_HEADER
from queueing.selectors import aqueue_caller_in_room
from queueing.services import queue_require_active

logger = logging.getLogger(__name__)

SEAT_MAP_PATH = re.compile(r"/api/v1/shows/(?P<show_id>[0-9]{1,18})/seats")
# The Django view's URL name: the server-side latency is recorded under it, as for the Django path.
_VIEW_NAME = "show-seat-list"
_QUEUE_TOKEN = QUEUE_TOKEN_HEADER.lower()


def seat_map_route(scope: dict) -> int | None:
    """The show id when this request is a seat-map read this app serves (GET, the path, a
    well-formed `Authorization: Token <key>` and an X-Queue-Token), else None (Django serves it)."""
    if scope["method"] != "GET":
        return None
    match = SEAT_MAP_PATH.fullmatch(scope["path"])
    if match is None:
        return None
    headers = request_headers(scope)
    if plain_api_key(headers) is None or not headers.get(_QUEUE_TOKEN):
        return None
    return int(match["show_id"])


async def seat_map_app(scope: dict, receive, send, *, show_id: int) -> None:
    started = time.perf_counter()
    headers = request_headers(scope)
    request_id = request_id_begin(headers.get(REQUEST_ID_HEADER.lower(), ""))
    answer_headers = {REQUEST_ID_HEADER: request_id, "X-Content-Type-Options": "nosniff"}
    try:
        seat_map = await _seat_map_for(api_key=plain_api_key(headers), token=headers[_QUEUE_TOKEN], show_id=show_id)
    except ApplicationError as exc:
        refusal = error_answer(exc, challenge=KEYWORD)
        await json_answer(send, refusal.status, refusal.body, answer_headers | refusal.headers)
    except Exception:  # a bug: the API's JSON 500, as Django's handler500 answers it
        logger.exception("seat map: unexpected error")
        await json_answer(send, 500, server_error_body(), answer_headers)
    else:
        await _seat_map_answer(send, seat_map, if_none_match=headers.get("if-none-match"), headers=answer_headers)
    Metrics.get_instance().requests_latency_by_view_method.labels(view=_VIEW_NAME, method="GET").observe(
        time.perf_counter() - started
    )


async def _seat_map_for(*, api_key: str, token: str, show_id: int) -> SeatMap:
    """The checks of the Django view in its order (401, 404, 403), then the current map."""
    try:
        caller = await aqueue_caller_in_room(api_key=api_key, token=token)
    except ApiKeyInvalid:
        raise NotAuthenticated(INVALID_KEY_MESSAGE) from None  # the view's words
    show = show_get_memoized(show_id=show_id) or await in_thread(show_get_cached, show_id=show_id)
    queue_require_active(user_id=caller.user_id, concert_id=show.concert_id, token=token, caller=caller)
    return await _current_seat_map(show)


# Per show, the rebuild under way: the reads that find the map out of date meanwhile wait for it
# on the loop instead of each taking a worker thread.
_rebuilds: dict[int, asyncio.Future] = {}


async def _current_seat_map(show: Show) -> SeatMap:
    """This process's kept map while current (one Redis GET for its version), else rebuilt in a
    worker thread by concerts.seat_map, which also gives a show its first version."""
    now = clock.now()
    try:
        version = await redis_client().get(seat_map_version_key(show.pk))
    except STORAGE_ERRORS as exc:
        logger.exception("seat map (asyncio): storage failed")
        raise service_unavailable() from exc
    kept = kept_seat_map(show_id=show.pk, version=redis_text(version), now=now) if version is not None else None
    if kept is not None:
        return kept
    rebuild = _rebuilds.get(show.pk)
    if rebuild is None:
        rebuild = asyncio.ensure_future(in_thread(show_seat_map, show=show, now=now))
        _rebuilds[show.pk] = rebuild
        rebuild.add_done_callback(lambda _: _rebuilds.pop(show.pk, None))
    return await asyncio.shield(rebuild)  # a reader that goes away does not cancel the others' rebuild


async def _seat_map_answer(send, seat_map: SeatMap, *, if_none_match: str | None, headers: dict[str, str]) -> None:
    """reservations.apis.seat_map_response's answer: 304 while the client holds this version,
    else the JSON; with the ETag, revalidated on every use."""
    not_modified = if_none_match == seat_map.etag
    answer = [
        (b"etag", seat_map.etag.encode()),
        (b"cache-control", b"private, no-cache"),
        *((name.lower().encode(), value.encode()) for name, value in headers.items()),
    ]
    if not not_modified:
        answer += [(b"content-type", b"application/json"), (b"content-length", str(len(seat_map.body)).encode())]
    await send({"type": "http.response.start", "status": 304 if not_modified else 200, "headers": answer})
    await send({"type": "http.response.body", "body": b"" if not_modified else seat_map.body})

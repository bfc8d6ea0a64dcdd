"""The admitted fans' booking reads served from an event loop (uvicorn), for API callers:

    GET /api/v1/concerts/<id>/shows   Authorization: Token <key>   X-Queue-Token: <token>
    GET /api/v1/shows/<id>/seats      Authorization: Token <key>   X-Queue-Token: <token>

Every admitted fan reads the concert's shows and then the show's seat map, several times while
choosing seats: in the rush these are the most frequent calls of the booking path (for 10,000
fans, 3 thousand show lists and 9-12 thousand seat maps). Both answers come from kept snapshots
(concerts.seat_map: the map's JSON, and the seats per grade the shows list counts), so through
gunicorn nearly all of a read's CPU was Django's request machinery around two Redis round trips,
taken from the holds and payments on the same cores. Here, as entering is served
(queueing.entering), a read is the same steps on the event loop: the key's user and the token's
place (queueing.selectors.aqueue_caller_in_room), the concert or show from the catalog memo, the
booking guard's rule (queueing.services.queue_require_active), the map's version, and the
answer: the kept map with its ETag (304 for If-None-Match), or the shows list in the Django
view's serializer. Only a rebuild of a map (at most once per SEAT_MAP_REBUILD_SECONDS per
process, one at a time per show) and a lookup missing from a memo run SQL, in a worker thread.

It runs in its own uvicorn pool at the booking path's priority (HAProxy backend "reads"), not in
the waiting room's, which is niced. The answers are the Django views'
(reservations.apis.ShowListApi and ShowSeatListApi, the documented implementation, which serve
every other such read: the fan pages' session callers, a call without X-Queue-Token, anything
malformed).
"""

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django_prometheus.middleware import Metrics
from rest_framework.renderers import JSONRenderer

from accounts.authentication import INVALID_KEY_MESSAGE, KEYWORD
from accounts.exceptions import ApiKeyInvalid
from concerts.models import Show
from concerts.seat_map import SeatMap, kept_seat_map, seat_map_version_key, show_seat_map, shows_availability
from concerts.selectors import (
    concert_get_cached,
    concert_get_memoized,
    concert_shows_cached,
    concert_shows_memoized,
    show_get_cached,
    show_get_memoized,
)
from core.clock import clock
from core.exception_handlers import error_answer, server_error_body
from core.exceptions import ApplicationError, NotAuthenticated
from core.redis import redis_text
from core.request_id import REQUEST_ID_HEADER, request_id_begin
from queueing.aio import in_thread, plain_api_key, redis_get, request_headers, send_answer
from queueing.permissions import QUEUE_TOKEN_HEADER
from queueing.selectors import CallerInRoom, aqueue_caller_in_room
from queueing.services import queue_require_active
from reservations.apis import ShowListApi, seat_map_answer

logger = logging.getLogger(__name__)

_QUEUE_TOKEN = QUEUE_TOKEN_HEADER.lower()
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class BookingRead:
    path: re.Pattern
    view_name: str  # the Django view's URL name: the server-side latency is recorded under it
    answer: Callable[..., Awaitable[Answer]]  # (caller, object id, headers) -> the answer


def booking_read_route(scope: dict) -> tuple[BookingRead, int] | None:
    """The read and its object's id when this request is one this app serves (GET, its path, a
    well-formed `Authorization: Token <key>` and an X-Queue-Token), else None (Django serves it)."""
    if scope["method"] != "GET":
        return None
    for read in BOOKING_READS:
        match = read.path.fullmatch(scope["path"])
        if match is not None:
            headers = request_headers(scope)
            if plain_api_key(headers) is None or not headers.get(_QUEUE_TOKEN):
                return None
            return read, int(match["id"])
    return None


async def booking_read_app(scope: dict, receive, send, *, read: BookingRead, object_id: int) -> None:
    started = time.perf_counter()
    headers = request_headers(scope)
    request_id = request_id_begin(headers.get(REQUEST_ID_HEADER.lower(), ""))
    answer_headers = {REQUEST_ID_HEADER: request_id, "X-Content-Type-Options": "nosniff"}
    try:
        try:
            caller = await aqueue_caller_in_room(api_key=plain_api_key(headers), token=headers[_QUEUE_TOKEN])
        except ApiKeyInvalid:
            raise NotAuthenticated(INVALID_KEY_MESSAGE) from None  # the views' words
        answer = await read.answer(caller, object_id, headers)
    except ApplicationError as exc:
        refusal = error_answer(exc, challenge=KEYWORD)
        answer = Answer(refusal.status, JSONRenderer().render(refusal.body), _JSON | refusal.headers)
    except Exception:  # a bug: the API's JSON 500, as Django's handler500 answers it
        logger.exception("booking read: unexpected error")
        answer = Answer(500, JSONRenderer().render(server_error_body()), _JSON)
    await send_answer(send, answer.status, answer.body, answer.headers | answer_headers)
    Metrics.get_instance().requests_latency_by_view_method.labels(view=read.view_name, method="GET").observe(
        time.perf_counter() - started
    )


async def _show_list(caller: CallerInRoom, concert_id: int, headers: dict[str, str]) -> Answer:
    """ShowListApi's answer: the checks in its order (404, 403), then the shows with their
    remaining seats counted from their kept maps."""
    concert = await _catalog(concert_get_memoized, concert_get_cached, concert_id=concert_id)
    queue_require_active(user_id=caller.user_id, concert_id=concert.pk, token=caller.token, caller=caller)
    shows = await _catalog(concert_shows_memoized, concert_shows_cached, concert_id=concert.pk)
    seat_maps = [await _current_seat_map(show) for show in shows]
    availability = shows_availability(shows=shows, seat_maps=seat_maps, now=clock.now())
    body = JSONRenderer().render(ShowListApi.OutputSerializer(availability, many=True).data)
    return Answer(200, body, _JSON)


async def _seat_map(caller: CallerInRoom, show_id: int, headers: dict[str, str]) -> Answer:
    """ShowSeatListApi's answer (reservations.apis.seat_map_answer): the checks in its order
    (404, 403), then the kept map, or 304 while the client holds this version."""
    show = await _catalog(show_get_memoized, show_get_cached, show_id=show_id)
    queue_require_active(user_id=caller.user_id, concert_id=show.concert_id, token=caller.token, caller=caller)
    seat_map = await _current_seat_map(show)
    return Answer(*seat_map_answer(seat_map, if_none_match=headers.get("if-none-match")))


BOOKING_READS = (
    BookingRead(re.compile(r"/api/v1/concerts/(?P<id>[0-9]{1,18})/shows"), "concert-show-list", _show_list),
    BookingRead(re.compile(r"/api/v1/shows/(?P<id>[0-9]{1,18})/seats"), "show-seat-list", _seat_map),
)


async def _catalog(memoized: Callable, cached: Callable, **kwargs):
    """A catalog read: at once while this process's memo holds it, else in a worker thread."""
    value = memoized(**kwargs)
    return value if value is not None else await in_thread(cached, **kwargs)


# Per show, the rebuild under way: the reads that find the map out of date meanwhile wait for it
# on the loop instead of each taking a worker thread.
_rebuilds: dict[int, asyncio.Future] = {}


async def _current_seat_map(show: Show) -> SeatMap:
    """This process's kept map while current (one Redis GET for its version), else rebuilt in a
    worker thread by concerts.seat_map, which also gives a show its first version."""
    now = clock.now()
    version = await redis_get(seat_map_version_key(show.pk))
    kept = kept_seat_map(show_id=show.pk, version=redis_text(version), now=now) if version is not None else None
    if kept is not None:
        return kept
    rebuild = _rebuilds.get(show.pk)
    if rebuild is None:
        rebuild = asyncio.ensure_future(in_thread(show_seat_map, show=show, now=now))
        _rebuilds[show.pk] = rebuild
        rebuild.add_done_callback(lambda _: _rebuilds.pop(show.pk, None))
    return await asyncio.shield(rebuild)  # a reader that goes away does not cancel the others' rebuild

"""Reads of the waiting room: concert policies (SQL) and where a token stands (Redis).

`queue_status_for_api_key` is the hottest path of the service (every waiting fan polls it): it
costs no SQL query and one Redis round trip, the caller's identity included.
"""

import asyncio
import math
import re
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from accounts.authentication import api_key_cache_key, api_key_user_id_from_cache
from accounts.exceptions import ApiKeyInvalid
from concerts.models import WAITING_ROOM_POLICY_FIELDS, Concert, Show
from concerts.selectors import published_q
from core.clock import clock
from core.outage import storage_boundary
from core.redis import queue_on_cluster, queue_redis, redis_client, redis_text
from queueing import aio
from queueing.aio import in_thread
from queueing.exceptions import TokenNotFound
from queueing.scripts import POLL, PollAnswer, TokenPlace, concert_keys, execute_pipeline, run_script

# The concert's fields a QueuePolicy is made of, in its order.
QUEUE_POLICY_FIELDS = (*WAITING_ROOM_POLICY_FIELDS, "queue_paused")

# A queue token is "<concert id>.<random>": the concert id routes it to its concert's keys
# (one Redis Cluster slot) without a global lookup; the random part (secrets.token_urlsafe)
# carries at least 256 bits and is what makes it unguessable.
_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.[A-Za-z0-9_-]{32,128}$")


class QueueTokenStatus(StrEnum):
    PREQUEUE = "PREQUEUE"  # entered before booking opened: no position until the opening shuffle
    WAITING = "WAITING"
    ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class QueuePolicy:
    concert_id: int
    max_waiting: int
    active_size: int
    session_minutes: int
    prequeue_minutes: int
    abandon_after_minutes: int
    admissions_per_minute: int | None  # None: unlimited
    paused: bool  # the organizer paused admission (Concert.queue_paused)
    booking_open: bool  # a show's booking window contains now
    opens_at: datetime | None  # the earliest booking opening of the shows not closed yet

    @property
    def session_seconds(self) -> int:
        return self.session_minutes * 60

    @property
    def abandon_seconds(self) -> int:
        return self.abandon_after_minutes * 60

    @property
    def prequeue_opens_at(self) -> datetime | None:
        return self.opens_at - timedelta(minutes=self.prequeue_minutes) if self.opens_at is not None else None

    def in_prequeue(self, now: datetime) -> bool:
        """Booking is not open yet, and opens within prequeue_minutes."""
        if self.booking_open or self.opens_at is None or self.opens_at <= now:
            return False
        return self.prequeue_opens_at <= now


@dataclass(frozen=True)
class QueueStatus:
    """Where a token stands: the body of every queue-token answer (SPEC)."""

    token: str
    concert_id: int
    status: QueueTokenStatus
    refresh_after_seconds: int
    position: int | None = None  # WAITING: 1 = next
    ahead: int | None = None
    behind: int | None = None  # WAITING: fans in line after this one
    estimated_wait_seconds: int | None = None
    # WAITING: the range the wait likely falls in (the admissions counted in the window are few, so
    # their rate is uncertain); high None: no upper bound can be told yet.
    estimated_wait_low_seconds: int | None = None
    estimated_wait_high_seconds: int | None = None
    active_until: datetime | None = None  # ACTIVE: when the session ends (unless a hold extends it)
    active_seconds_left: int | None = None
    seconds_until_open: int | None = None  # PREQUEUE: seconds until booking opens
    created: bool = field(default=False, compare=False)  # enter: a new token (201) or the same (200)


@dataclass(frozen=True)
class QueueStats:
    concert_id: int
    waiting: int
    active: int
    admitted_recently: int  # within settings.QUEUE_RATE_WINDOW_SECONDS
    paused: bool
    prequeue: int = 0
    abandoned_recently: int = 0  # waiting fans pruned for not polling, within the same window


def token_concert_id(token: str | None) -> int | None:
    """The concert a well-formed token belongs to; None for anything else."""
    match = _TOKEN.match(token or "")
    return int(match.group(1)) if match else None


def _policy_query(now: datetime):
    # A cancelled show (reservations.services.show_cancel) opens no booking window.
    open_show = Show.objects.filter(
        concert=OuterRef("pk"), booking_opens_at__lte=now, booking_closes_at__gt=now, cancelled_at__isnull=True
    )
    return (
        Concert.objects.filter(published_q())  # a draft has no waiting room yet
        .annotate(
            booking_open=Exists(open_show),
            opens_at=Min(
                "shows__booking_opens_at",
                filter=Q(shows__booking_closes_at__gt=now, shows__cancelled_at__isnull=True),
            ),
        )
        .values_list("pk", *QUEUE_POLICY_FIELDS, "booking_open", "opens_at")
        .order_by("pk")
    )


def concert_queue_policy(*, concert_id: int, now: datetime) -> QueuePolicy | None:
    """The concert's queue policy and whether a show's booking window contains `now` (one query)."""
    row = _policy_query(now).filter(pk=concert_id).first()
    return QueuePolicy(*row) if row else None


@dataclass(frozen=True)
class _CachedPolicy:
    fetched_at: float  # time.monotonic()
    fields: tuple  # the values of QUEUE_POLICY_FIELDS
    windows: tuple[tuple[datetime, datetime], ...]  # (booking opens, closes) of the shows

    def at(self, concert_id: int, now: datetime) -> QueuePolicy:
        return QueuePolicy(
            concert_id,
            *self.fields,
            booking_open=any(opens <= now < closes for opens, closes in self.windows),
            opens_at=min((opens for opens, closes in self.windows if closes > now), default=None),
        )


_policy_cache: dict[int, _CachedPolicy] = {}
# Per event loop: the concerts whose policy is being read now (aconcert_queue_policy_cached).
_policy_fills: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Future]]" = (
    weakref.WeakKeyDictionary()
)


def concert_queue_policy_cached(*, concert_id: int, now: datetime) -> QueuePolicy | None:
    """concert_queue_policy for the enter path: the concert's fields and its shows' booking
    windows are read from SQL (one query) at most every QUEUE_POLICY_CACHE_SECONDS per process;
    whether a window contains `now` is decided on every call, so opening and closing are exact."""
    cached = _policy_cache_fresh(concert_id) or _policy_cache_fill(concert_id=concert_id)
    return cached.at(concert_id, now) if cached else None


async def aconcert_queue_policy_cached(*, concert_id: int, now: datetime) -> QueuePolicy | None:
    """concert_queue_policy_cached on an event loop (queueing.entering): the SQL of a missing or
    stale entry runs in a worker thread, once for all the entries that find it so. Raises
    ServiceUnavailable."""
    cached = _policy_cache_fresh(concert_id)
    if cached is None:
        # The loop serves a hundred entries at once: each one reading the policy itself cost a
        # hundred queries every QUEUE_POLICY_CACHE_SECONDS of the rush, where one does.
        fills = _policy_fills.setdefault(asyncio.get_running_loop(), {})
        fill = fills.get(concert_id)
        if fill is None:
            fill = fills[concert_id] = asyncio.ensure_future(in_thread(_policy_cache_fill, concert_id=concert_id))
            fill.add_done_callback(lambda _: fills.pop(concert_id, None))
        cached = await asyncio.shield(fill)  # an entry that goes away leaves the read to the others
    return cached.at(concert_id, now) if cached else None


def _policy_cache_fresh(concert_id: int) -> _CachedPolicy | None:
    """This process's copy of the concert's policy if younger than QUEUE_POLICY_CACHE_SECONDS (no I/O)."""
    cached = _policy_cache.get(concert_id)
    if cached is None or time.monotonic() - cached.fetched_at >= settings.QUEUE_POLICY_CACHE_SECONDS:
        return None
    return cached


def _policy_cache_fill(*, concert_id: int) -> _CachedPolicy | None:
    """Read the concert's policy fields and booking windows (one query) into this process's copy."""
    rows = list(
        Concert.objects.filter(published_q(), pk=concert_id).values_list(
            *QUEUE_POLICY_FIELDS, "shows__booking_opens_at", "shows__booking_closes_at", "shows__cancelled_at"
        )
    )
    if not rows:
        _policy_cache.pop(concert_id, None)
        return None
    windows = tuple((opens, closes) for *_, opens, closes, cancelled in rows if opens is not None and cancelled is None)
    cached = _CachedPolicy(time.monotonic(), rows[0][: len(QUEUE_POLICY_FIELDS)], windows=windows)
    _policy_cache[concert_id] = cached
    return cached


def concert_queue_policy_cache_clear(*, concert_id: int | None = None) -> None:
    """Forget this process's copy of one concert's policy (every concert's without an id)."""
    if concert_id is None:
        _policy_cache.clear()
    else:
        _policy_cache.pop(concert_id, None)


def concerts_on_sale(*, now: datetime) -> list[QueuePolicy]:
    """Every concert with a show whose booking window contains `now` (one query)."""
    return [QueuePolicy(*row) for row in _policy_query(now).filter(booking_open=True)]


@dataclass(frozen=True)
class WaitEstimate:
    seconds: int
    low_seconds: int
    high_seconds: int | None


def _estimated_wait(position: int, recent: int, active_size: int, session_seconds: int) -> WaitEstimate | None:
    """Seconds until admission at the admission rate seen in the window, else the policy's rate
    (every session lasts at most session_seconds, so active_size places turn over that often).

    The range: `recent` admissions counted in the window make a rate known within about two
    standard deviations of a Poisson count (2 * sqrt(recent)); few admissions give a wide range,
    none an open one (only the policy's rate, a lower bound on the wait: a place can turn over
    sooner than a whole session only when its fan pays or leaves)."""
    window = settings.QUEUE_RATE_WINDOW_SECONDS
    if recent > 0:
        spread = 2 * math.sqrt(recent)
        slowest = recent - spread
        return WaitEstimate(
            seconds=math.ceil(position * window / recent),
            low_seconds=math.floor(position * window / (recent + spread)),
            high_seconds=math.ceil(position * window / slowest) if slowest > 0 else None,
        )
    if active_size > 0 and session_seconds > 0:
        seconds = math.ceil(position * session_seconds / active_size)
        return WaitEstimate(seconds=seconds, low_seconds=0, high_seconds=seconds)
    return None


def _prequeue_refresh(seconds_until_open: int) -> int:
    """A pre-queue fan asks again by the opening, at most every QUEUE_REFRESH_MAX_SECONDS."""
    return max(settings.QUEUE_REFRESH_MIN_SECONDS, min(settings.QUEUE_REFRESH_MAX_SECONDS, seconds_until_open))


def _waiting_refresh(position: int, estimate: int | None) -> int:
    low, high = settings.QUEUE_REFRESH_MIN_SECONDS, settings.QUEUE_REFRESH_MAX_SECONDS
    seconds = min(high, low + (position - 1) // settings.QUEUE_REFRESH_STEP_POSITIONS)
    if estimate is not None:
        seconds = min(seconds, max(low, estimate))
    return seconds


def queue_status_data(current: QueueStatus) -> dict:
    """The answer body of a status (the shape QueueStatusOutputSerializer documents), built by hand:
    a DRF serializer costs more than the rest of the poll request."""
    active_until = current.active_until
    return {
        "token": current.token,
        "concert_id": current.concert_id,
        "status": current.status.value,
        "position": current.position,
        "ahead": current.ahead,
        "behind": current.behind,
        "estimated_wait_seconds": current.estimated_wait_seconds,
        "estimated_wait_low_seconds": current.estimated_wait_low_seconds,
        "estimated_wait_high_seconds": current.estimated_wait_high_seconds,
        "active_until": timezone.localtime(active_until).isoformat() if active_until else None,
        "active_seconds_left": current.active_seconds_left,
        "refresh_after_seconds": current.refresh_after_seconds,
        "seconds_until_open": current.seconds_until_open,
    }


def build_status(*, token: str, concert_id: int, place: TokenPlace, now: float, created: bool = False) -> QueueStatus:
    """A QueueStatus from where a script found the token (ENTER, POLL)."""
    status = QueueTokenStatus(place.status)
    if status is QueueTokenStatus.PREQUEUE:
        seconds_until_open = max(0, math.ceil(place.spot - now))
        return QueueStatus(
            token=token,
            concert_id=concert_id,
            status=status,
            refresh_after_seconds=_prequeue_refresh(seconds_until_open),
            seconds_until_open=seconds_until_open,
            created=created,
        )
    if status is QueueTokenStatus.WAITING:
        position = int(place.spot) + 1
        estimate = _estimated_wait(position, place.admitted_recently, place.active_size, place.session_seconds)
        return QueueStatus(
            token=token,
            concert_id=concert_id,
            status=status,
            position=position,
            ahead=position - 1,
            behind=max(0, place.waiting - position),
            estimated_wait_seconds=estimate.seconds if estimate else None,
            estimated_wait_low_seconds=estimate.low_seconds if estimate else None,
            estimated_wait_high_seconds=estimate.high_seconds if estimate else None,
            refresh_after_seconds=_waiting_refresh(position, estimate.seconds if estimate else None),
            created=created,
        )
    ends = place.spot
    seconds_left = max(0, math.ceil(ends - now))
    return QueueStatus(
        token=token,
        concert_id=concert_id,
        status=status,
        active_until=datetime.fromtimestamp(ends, tz=UTC),
        active_seconds_left=seconds_left,
        refresh_after_seconds=max(1, min(settings.QUEUE_REFRESH_ACTIVE_SECONDS, seconds_left)),
        created=created,
    )


def poll_args(token: str, now: float) -> list[object]:
    """ARGV of the POLL script."""
    return [token, f"{now:.6f}", settings.QUEUE_RATE_WINDOW_SECONDS]


def status_from_poll(*, answer: list, user_id: int, token: str, concert_id: int, now: float) -> QueueStatus:
    """The status the POLL script's answer gives, if the token is the user's; else TokenNotFound."""
    poll = PollAnswer.from_script(answer)
    if poll.user_id != user_id:
        raise TokenNotFound()
    return build_status(token=token, concert_id=concert_id, place=poll.place, now=now)


@dataclass(frozen=True)
class CallerInRoom:
    """A caller known by its API key, and where its queue token stands."""

    user_id: int
    token: str | None
    status: QueueStatus | None  # None: the token is not the caller's (unknown, forged, ended, another's)


def queue_status_for_api_key(*, api_key: str, token: str | None) -> QueueStatus:
    """Where the caller's token stands, the caller known only by its API key (`Authorization:
    Token`): queue_caller_in_room. Raises NotAuthenticated for an unknown, revoked or expired API
    key and TokenNotFound for a token that is not the caller's (unknown, forged, ended or another
    user's, all alike)."""
    caller = queue_caller_in_room(api_key=api_key, token=token)
    if caller.status is None:
        raise TokenNotFound()
    return caller.status


@storage_boundary
def queue_caller_in_room(*, api_key: str, token: str | None) -> CallerInRoom:
    """The API key's user and where its token stands. One Redis round trip: the key's cached
    user id and the poll script, pipelined (the first call after the cache entry lapses looks the
    key up in SQL once). The script's answer is used only once the key proved live and the token
    the caller's. With the room on a Redis Cluster (the key's entry stays on the plain Redis) it
    is two: the entry, then the script. Raises NotAuthenticated for an unknown, revoked or
    expired API key."""
    concert_id = token_concert_id(token)
    now = clock.timestamp()
    keys = concert_keys(concert_id) if concert_id is not None else None
    if queue_on_cluster():
        # The key's entry is on the plain Redis, the room on the cluster: two round trips, the
        # script only for a live key (as entering does).
        user_id = api_key_user_id_from_cache(api_key, redis_client().get(api_key_cache_key(api_key)))
        if user_id is None:
            raise ApiKeyInvalid()
        answer = run_script(queue_redis(), POLL, keys, poll_args(token, now)) if keys is not None else []
    else:

        def build(pipe) -> None:
            pipe.get(api_key_cache_key(api_key))
            if keys is not None:
                pipe.evalsha(POLL.sha, len(keys), *keys, *poll_args(token, now))

        results = execute_pipeline(redis_client(), build)
        user_id = api_key_user_id_from_cache(api_key, results[0])
        if user_id is None:
            raise ApiKeyInvalid()
        answer = results[1] if keys is not None else []
    try:
        status = status_from_poll(answer=answer, user_id=user_id, token=token, concert_id=concert_id, now=now)
    except TokenNotFound:
        status = None
    return CallerInRoom(user_id=user_id, token=token, status=status)


async def aqueue_caller_in_room(*, api_key: str, token: str | None) -> CallerInRoom:
    """queue_caller_in_room on an event loop (reservations.booking_reads): the key's user first
    (queueing.aio.caller_id), then the token's poll script, as on a Redis Cluster. Raises
    ApiKeyInvalid, ServiceUnavailable."""
    user_id = await aio.caller_id(api_key)
    try:
        status = await aqueue_status(user_id=user_id, token=token)
    except TokenNotFound:
        status = None
    return CallerInRoom(user_id=user_id, token=token, status=status)


async def aqueue_status(*, user_id: int, token: str | None, batched: bool = False) -> QueueStatus:
    """queue_status on an event loop (the status streams, the booking reads); `batched`: in the
    loop's next batch of Redis calls (aio.run_script_batched), for a status that may come a
    little later. Raises TokenNotFound, ServiceUnavailable."""
    concert_id = token_concert_id(token)
    if concert_id is None:
        raise TokenNotFound()
    now = clock.timestamp()
    run_script = aio.run_script_batched if batched else aio.run_script
    answer = await run_script(POLL, concert_keys(concert_id), poll_args(token, now))
    return status_from_poll(answer=answer, user_id=user_id, token=token, concert_id=concert_id, now=now)


@storage_boundary
def queue_status(*, user_id: int, token: str | None) -> QueueStatus:
    """Where the user's token stands (one Redis round trip). Raises TokenNotFound unless the token
    is the user's and still waiting or active."""
    concert_id = token_concert_id(token)
    if concert_id is None:
        raise TokenNotFound()
    now = clock.timestamp()
    answer = run_script(queue_redis(), POLL, concert_keys(concert_id), poll_args(token, now))
    return status_from_poll(answer=answer, user_id=user_id, token=token, concert_id=concert_id, now=now)


@storage_boundary
def queue_stats(*, concert_id: int) -> QueueStats:
    """Live numbers of a concert's room (one Redis round trip)."""
    waiting, active, _tokens, _users, meta, admits, prequeue, _seen, abandons = concert_keys(concert_id)
    now = clock.timestamp()
    window_start = f"({now - settings.QUEUE_RATE_WINDOW_SECONDS:.6f}"

    def build(pipe) -> None:
        pipe.zcard(waiting)
        pipe.zcount(active, f"({now:.6f}", "+inf")
        pipe.zcount(admits, window_start, "+inf")
        pipe.hget(meta, "paused")
        pipe.zcard(prequeue)
        pipe.zcount(abandons, window_start, "+inf")

    n_waiting, n_active, n_admitted, paused, n_prequeue, n_abandoned = execute_pipeline(queue_redis(), build)
    return QueueStats(
        concert_id=concert_id,
        waiting=n_waiting,
        active=n_active,
        admitted_recently=n_admitted,
        paused=paused is not None and redis_text(paused) == "1",
        prequeue=n_prequeue,
        abandoned_recently=n_abandoned,
    )

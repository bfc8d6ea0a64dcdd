"""The seat map of a show, the hot read of the on-sale rush, served as a cached, versioned snapshot.

Every admitted fan loads the map of a 1,000-seat show, often several times; building it from SQL
and DRF's serializers for each request cost ~50 ms of CPU. Instead:

- Each show has a version in Redis, replaced by a new random value whenever its seats or prices
  change (`seat_map_changed`, on commit of a hold, payment, expiry, release or refund, and on a
  price change). A random value rather than a counter: a Redis restart cannot bring an old version
  back.
- Each web process keeps the JSON body of the map it built last per show, with the version it was
  built at. A request reads the version (one Redis GET) and sends the kept body while the version
  is the same, the body's time has not passed (`fresh_until`: the first moment a hold in it runs
  out, so that seat reads AVAILABLE as the availability rule says), and it is younger than
  SEAT_MAP_MAX_AGE_SECONDS (a safety net should a change ever fail to replace the version).
- A rebuild is one SQL query (concerts.selectors.show_seat_list, so the one availability rule:
  values, no model objects) and one json.dumps; one thread per
  process rebuilds while the others wait for it. In the rush the seats change many times a
  second, so a process rebuilds at most once per SEAT_MAP_REBUILD_SECONDS: the map a fan sees may
  be that much behind (a hold of a seat taken meanwhile answers SEAT_UNAVAILABLE, as it would a
  moment later anyway), instead of one rebuild for nearly every request.
- Each body has an ETag; a client sending it back in If-None-Match gets 304 with no body.
- The map also counts the seats and free seats per grade: the shows list of the booking API
  (show_list_for_booking) is read from the maps, not from an SQL count.

The body is the same list the API always answered (id, label, section, row, number, aisle_after,
grade, price, status).
"""

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from redis import Redis
from redis.client import Pipeline

from concerts.models import Show, ShowSeatStatus, seat_label
from concerts.selectors import (
    GRADE_ORDER,
    GradeAvailability,
    ShowAvailability,
    concert_shows_cached,
    show_seat_list,
    show_status,
)
from core.redis import redis_client, redis_key, redis_text


@dataclass(frozen=True)
class GradeSummary:
    price: int
    total_seats: int
    free_seats: int


@dataclass(frozen=True)
class SeatMap:
    body: bytes
    etag: str
    version: str
    fresh_until: datetime | None  # first moment a hold in the body runs out
    built_at: float  # time.monotonic()
    grades: dict[str, GradeSummary]  # the priced grades: what the shows list shows
    free_seat_ids: frozenset[int]  # the seats that read AVAILABLE
    layout: int  # a hash of everything about the seats but their status: where, which grade, what price

    def is_current(self, *, version: str, now: datetime) -> bool:
        age = time.monotonic() - self.built_at
        return (
            (version == self.version or age < settings.SEAT_MAP_REBUILD_SECONDS)
            and (self.fresh_until is None or now < self.fresh_until)
            and age < settings.SEAT_MAP_MAX_AGE_SECONDS
        )


_kept: dict[int, SeatMap] = {}
_build_locks: dict[int, threading.Lock] = {}
_build_locks_guard = threading.Lock()


def seat_map_version_key(show_id: int) -> str:
    """The Redis key of the show's seat-map version (absent until its first change or read)."""
    return redis_key("seatmap", show_id, "version")


def seat_map_changed(*, show_id: int, client: Redis | Pipeline | None = None) -> None:
    """The show's seats or prices changed: every process rebuilds its map on the next request.
    Call it after the change commits (transaction.on_commit; or with the pipeline of
    core.redis.redis_writes_on_commit as `client`)."""
    (client or redis_client()).set(seat_map_version_key(show_id), secrets.token_hex(8))


def _seat_map_versions(show_ids: list[int]) -> list[str]:
    client = redis_client()
    keys = [seat_map_version_key(show_id) for show_id in show_ids]
    versions = client.mget(keys)
    for key, version in zip(keys, versions, strict=True):
        if version is None:  # never changed since Redis started: give it a version now
            client.set(key, secrets.token_hex(8), nx=True)
    if None in versions:
        versions = client.mget(keys)
    return [redis_text(version) for version in versions]


def show_seat_map(*, show: Show, now: datetime) -> SeatMap:
    """The show's seat map as JSON (every seat on sale, in layout order, with price and status)."""
    return show_seat_maps(shows=[show], now=now)[0]


def show_seat_maps(*, shows: list[Show], now: datetime) -> list[SeatMap]:
    """The seat maps of several shows (one Redis round trip for their versions)."""
    return [
        _current(show, version, now)
        for show, version in zip(shows, _seat_map_versions([show.pk for show in shows]), strict=True)
    ]


def kept_seat_map(*, show_id: int, version: str, now: datetime) -> SeatMap | None:
    """This process's kept map of the show if it is current at `version`, else None. No I/O: an
    event loop reads it this way (reservations.booking_reads) and rebuilds in a worker thread."""
    kept = _kept.get(show_id)
    return kept if kept is not None and kept.is_current(version=version, now=now) else None


def _current(show: Show, version: str, now: datetime) -> SeatMap:
    kept = kept_seat_map(show_id=show.pk, version=version, now=now)
    if kept is not None:
        return kept
    with _build_lock(show.pk):
        kept = kept_seat_map(show_id=show.pk, version=version, now=now)  # another thread may have built it
        if kept is not None:
            return kept
        kept = _build(show=show, version=version, now=now)
        _kept[show.pk] = kept
        return kept


def _build_lock(show_id: int) -> threading.Lock:
    with _build_locks_guard:
        return _build_locks.setdefault(show_id, threading.Lock())


def _build(*, show: Show, version: str, now: datetime) -> SeatMap:
    rows = show_seat_list(show=show, now=now).values_list(
        "id", "section", "row", "number", "aisle_after", "grade", "price", "effective_status", "held_until", "row_index"
    )
    seats, fresh_until, free_seat_ids, layout = [], None, [], []
    totals: dict[str, list[int]] = {}  # grade -> [price, seats, free seats]
    for seat_id, section, row, number, aisle_after, grade, seat_price, status, held_until, row_index in rows:
        layout.append((seat_id, section, row, number, aisle_after, grade, seat_price, row_index))
        if status == ShowSeatStatus.AVAILABLE:
            free_seat_ids.append(seat_id)
        # A live hold reads HELD until its end; from then on the seat reads AVAILABLE.
        if status == ShowSeatStatus.HELD and (fresh_until is None or held_until < fresh_until):
            fresh_until = held_until
        total = totals.setdefault(grade, [seat_price, 0, 0])
        total[1] += 1
        total[2] += status == ShowSeatStatus.AVAILABLE
        seats.append(
            {"id": seat_id, "label": seat_label(section, row, number), "section": section, "row": row,
             "number": number, "aisle_after": aisle_after, "grade": grade, "price": seat_price, "status": status}
        )  # fmt: skip
    body = json.dumps(seats, separators=(",", ":"), ensure_ascii=False).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    grades = {grade: GradeSummary(*total) for grade, total in totals.items()}
    return SeatMap(
        body=body,
        etag=etag,
        version=version,
        fresh_until=fresh_until,
        built_at=time.monotonic(),
        grades=grades,
        free_seat_ids=frozenset(free_seat_ids),
        layout=hash(tuple(layout)),  # compared within this process only
    )


def show_list_for_booking(*, concert_id: int, now: datetime) -> list[ShowAvailability]:
    """concerts.selectors.show_list_for_concert for the booking API in the rush: the concert's
    shows from the catalog memo, their remaining seats from their kept seat maps, so no SQL count
    runs while the seats do not change."""
    shows = concert_shows_cached(concert_id=concert_id)
    return shows_availability(shows=shows, seat_maps=show_seat_maps(shows=shows, now=now), now=now)


def shows_availability(*, shows: list[Show], seat_maps: list[SeatMap], now: datetime) -> list[ShowAvailability]:
    """Each show's status and remaining seats per priced grade, counted from its seat map."""
    result = []
    for show, seat_map in zip(shows, seat_maps, strict=True):
        grades = [
            GradeAvailability(grade=g, price=s.price, total_seats=s.total_seats, remaining_seats=s.free_seats)
            for g in GRADE_ORDER
            if (s := seat_map.grades.get(g)) is not None
        ]
        result.append(ShowAvailability(show=show, status=show_status(show, grades, now), grades=grades))
    return result

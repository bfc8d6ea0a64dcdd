"""Reads of the catalog: concerts with their booking window, shows with their availability, seats.

The one availability rule lives here (`seat_is_free_q` in SQL, `seat_is_free` for a row already
read): a seat is free when it is AVAILABLE, or HELD with a hold that has already run out. An
expired hold therefore gives its seat back at once, before any background job releases it;
counting, the seats list and the hold service all use it.

Prices: a seat is on sale only if its show has a ShowGradePrice for the seat's grade. Seats of an
unpriced grade are left out of the counts and of the seats list (`seat_is_priced_q`); the hold
service refuses them too (`show_grade_prices_unless_cancelled`).
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Case, CharField, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Value, When

from concerts.exceptions import ConcertNotFound, ShowNotFound
from concerts.models import Concert, SeatGrade, Show, ShowGradePrice, ShowSeat, ShowSeatStatus

# Grades in the order they are shown (best first).
GRADE_ORDER = [grade.value for grade in SeatGrade]


class ShowStatus:
    AVAILABLE = "AVAILABLE"
    SOLD_OUT = "SOLD_OUT"
    CLOSED = "CLOSED"
    choices = [AVAILABLE, SOLD_OUT, CLOSED]


def seat_is_free_q(now: datetime, prefix: str = "") -> Q:
    """ShowSeat rows that may be held right now: AVAILABLE, or HELD with an expired hold.

    `prefix` lets a query on another model reach the seat, e.g. prefix="seats__".
    """
    return Q(**{f"{prefix}status": ShowSeatStatus.AVAILABLE}) | Q(
        **{f"{prefix}status": ShowSeatStatus.HELD, f"{prefix}held_until__lte": now}
    )


def seat_map_position(seat: ShowSeat) -> tuple[int, int]:
    """Where the seat comes on the show's map (the model's ordering), to sort seats already read."""
    return seat.row_index, seat.number


def seat_is_free(seat: ShowSeat, now: datetime) -> bool:
    """seat_is_free_q for a seat row already read (e.g. locked by the hold): the same rule."""
    if seat.status == ShowSeatStatus.AVAILABLE:
        return True
    return seat.status == ShowSeatStatus.HELD and seat.held_until is not None and seat.held_until <= now


# Written out: read by every hold that gets its seats in a rush, where the ORM's building of the
# statement cost more CPU than the statement (reservations.services, _SQL_*).
_SQL_GRADE_PRICES_UNLESS_CANCELLED = """
    SELECT price.grade, price.price FROM concerts_showgradeprice price
    JOIN concerts_show concert_show ON concert_show.id = price.show_id
    WHERE price.show_id = %s AND concert_show.cancelled_at IS NULL
    ORDER BY price.grade"""


def show_grade_prices_unless_cancelled(*, show_id: int) -> list[tuple[str, int]]:
    """(grade, price) of the show, read fresh; none once the show is cancelled (one statement
    where the hold needs both facts)."""
    with connection.cursor() as cursor:
        cursor.execute(_SQL_GRADE_PRICES_UNLESS_CANCELLED, [show_id])
        return list(cursor.fetchall())


def seat_is_priced_q() -> Q:
    """ShowSeat rows whose show has a price for their grade (only those are on sale)."""
    return Q(Exists(ShowGradePrice.objects.filter(show=OuterRef("show"), grade=OuterRef("grade"))))


def show_is_open(*, show: Show, now: datetime) -> bool:
    """Not cancelled, inside the booking window and not started (the part of "bookable" that needs
    no seat count)."""
    return show.cancelled_at is None and show.booking_opens_at <= now < show.booking_closes_at and now < show.starts_at


# A concert's shows that still take place (a cancelled show has no booking window).
_LIVE_SHOWS = Q(shows__cancelled_at__isnull=True)


def concert_list(*, now: datetime | None = None) -> QuerySet[Concert]:
    """Concerts with their venue and booking window (earliest opening, latest closing of their shows)."""
    return (
        Concert.objects.filter(published_q())
        .select_related("venue")
        .annotate(
            booking_opens_at=Min("shows__booking_opens_at", filter=_LIVE_SHOWS),
            booking_closes_at=Max("shows__booking_closes_at", filter=_LIVE_SHOWS),
            shows_count=Count("shows", filter=_LIVE_SHOWS),
        )
        .order_by(F("booking_opens_at").asc(nulls_last=True), "-created_at", "-id")
    )


def published_q(prefix: str = "") -> Q:
    """Concerts fans may see (the fan pages, the API, the waiting room): not drafts."""
    return Q(**{f"{prefix}published_at__isnull": False})


def concert_get(*, concert_id: int) -> Concert:
    """A published concert (a draft is not found: only the admin sees it)."""
    try:
        return Concert.objects.filter(published_q()).select_related("venue").get(pk=concert_id)
    except Concert.DoesNotExist as exc:
        raise ConcertNotFound() from exc


def concert_get_by_ref(*, ref: str) -> Concert:
    """A concert by id (digits) or by exact title; ConcertNotFound if none or several match."""
    if ref.isdigit() and len(ref) <= 18:
        concert = Concert.objects.filter(pk=int(ref)).first()
        if concert is not None:
            return concert
    matches = list(Concert.objects.filter(title=ref)[:2])
    if len(matches) != 1:
        raise ConcertNotFound("More than one concert has this title: give its id." if matches else None)
    return matches[0]


def show_get(*, show_id: int) -> Show:
    try:
        return Show.objects.select_related("concert", "venue").get(pk=show_id)
    except Show.DoesNotExist as exc:
        raise ShowNotFound() from exc


@dataclass
class GradeAvailability:
    grade: str
    price: int
    total_seats: int = 0
    remaining_seats: int = 0


@dataclass
class ShowAvailability:
    """A show with what is left of it: only priced grades count (see module docstring)."""

    show: Show
    status: str
    grades: list[GradeAvailability] = field(default_factory=list)

    @property
    def total_seats(self) -> int:
        return sum(g.total_seats for g in self.grades)

    @property
    def remaining_seats(self) -> int:
        return sum(g.remaining_seats for g in self.grades)


def show_availability_list(*, shows: list[Show], now: datetime) -> list[ShowAvailability]:
    """Status and remaining seats (total and per priced grade) of the given shows, in two queries."""
    show_ids = [show.pk for show in shows]
    prices: dict[int, dict[str, int]] = defaultdict(dict)
    for row in ShowGradePrice.objects.filter(show_id__in=show_ids).values("show_id", "grade", "price"):
        prices[row["show_id"]][row["grade"]] = row["price"]
    counts = (
        ShowSeat.objects.filter(show_id__in=show_ids)
        .values("show_id", "grade")
        .annotate(total=Count("id"), free=Count("id", filter=seat_is_free_q(now)))
        .order_by()
    )
    by_show: dict[int, dict[str, GradeAvailability]] = defaultdict(dict)
    for row in counts:
        price = prices[row["show_id"]].get(row["grade"])
        if price is None:
            continue  # an unpriced grade is not on sale
        by_show[row["show_id"]][row["grade"]] = GradeAvailability(
            grade=row["grade"], price=price, total_seats=row["total"], remaining_seats=row["free"]
        )

    result = []
    for show in shows:
        grades = [by_show[show.pk][g] for g in GRADE_ORDER if g in by_show[show.pk]]
        result.append(ShowAvailability(show=show, status=show_status(show, grades, now), grades=grades))
    return result


def show_status(show: Show, grades: list[GradeAvailability], now: datetime) -> str:
    """CLOSED outside the booking window or once started, SOLD_OUT with no seat free, else AVAILABLE."""
    if not show_is_open(show=show, now=now):
        return ShowStatus.CLOSED
    if sum(g.remaining_seats for g in grades) == 0:
        return ShowStatus.SOLD_OUT
    return ShowStatus.AVAILABLE


def show_list_for_concert(*, concert: Concert, now: datetime) -> list[ShowAvailability]:
    shows = list(concert.shows.select_related("venue").order_by("starts_at", "id"))
    return show_availability_list(shows=shows, now=now)


# Catalog rows the booking guard and the booking reads look up on every request (a show's concert,
# a concert's shows), kept per process for CATALOG_CACHE_SECONDS: an organizer's edit shows within
# that time; bookability itself is always decided from the clock and the locked rows.
_catalog: dict[tuple, tuple[float, object]] = {}


_MISSING = object()


def _catalog_peek(key: tuple):
    """The memo's fresh value for the key, else _MISSING (a memoized value may be None)."""
    hit = _catalog.get(key)
    if hit is not None and time.monotonic() - hit[0] < settings.CATALOG_CACHE_SECONDS:
        return hit[1]
    return _MISSING


def _catalog_memo(key: tuple, load):
    value = _catalog_peek(key)
    if value is not _MISSING:
        return value
    value = load()
    if len(_catalog) > 10_000:
        _catalog.clear()
    _catalog[key] = (time.monotonic(), value)
    return value


def concert_shows_cached(*, concert_id: int) -> list[Show]:
    """The concert's shows (with their venue), in date order, through the catalog memo."""
    return _catalog_memo(
        ("shows", concert_id),
        lambda: list(Show.objects.filter(concert_id=concert_id).select_related("venue").order_by("starts_at", "id")),
    )


def concert_get_cached(*, concert_id: int) -> Concert:
    """concert_get through the catalog memo (the booking guard's lookup)."""
    return _catalog_memo(("concert", concert_id), lambda: concert_get(concert_id=concert_id))


def show_get_cached(*, show_id: int) -> Show:
    """show_get through the catalog memo (the booking guard's lookup)."""
    return _catalog_memo(("show", show_id), lambda: show_get(show_id=show_id))


# The memo's entries without I/O: None when not held fresh. An event loop reads the catalog this
# way and calls the *_cached selector in a worker thread on a miss (reservations.booking_reads).
def show_get_memoized(*, show_id: int) -> Show | None:
    show = _catalog_peek(("show", show_id))
    return None if show is _MISSING else show


def concert_get_memoized(*, concert_id: int) -> Concert | None:
    concert = _catalog_peek(("concert", concert_id))
    return None if concert is _MISSING else concert


def concert_shows_memoized(*, concert_id: int) -> list[Show] | None:
    shows = _catalog_peek(("shows", concert_id))
    return None if shows is _MISSING else shows


def show_concert_id_cached(*, show_id: int) -> int | None:
    """The show's concert id through the catalog memo; None for no such show."""
    return _catalog_memo(
        ("show-concert", show_id), lambda: Show.objects.filter(pk=show_id).values_list("concert_id", flat=True).first()
    )


def show_sold_ticket_count(*, show: Show) -> int:
    """Seats of the show sold (paid and not refunded)."""
    return ShowSeat.objects.filter(show=show, status=ShowSeatStatus.SOLD).count()


def show_has_sold_seats(*, show: Show) -> bool:
    return ShowSeat.objects.filter(show=show, status=ShowSeatStatus.SOLD).exists()


def show_seat_list(*, show: Show, now: datetime) -> QuerySet[ShowSeat]:
    """The seats on sale of a show, in layout order, annotated with `price` and `effective_status`
    (an expired hold reads AVAILABLE)."""
    price = ShowGradePrice.objects.filter(show=OuterRef("show"), grade=OuterRef("grade")).values("price")[:1]
    return (
        ShowSeat.objects.filter(show=show)
        .annotate(price=Subquery(price))
        .filter(price__isnull=False)
        .annotate(
            effective_status=Case(
                When(seat_is_free_q(now), then=Value(ShowSeatStatus.AVAILABLE.value)),
                default=F("status"),
                output_field=CharField(),
            )
        )
        .order_by("row_index", "number", "id")
    )


def best_available_seats(*, show: Show, grade: str, count: int, now: datetime) -> list[int]:
    """Ids of `count` free seats side by side (consecutive numbers, one row, no aisle between
    them) of the grade, in number order; [] when no row of the grade has that many free seats
    together.

    "Best" as a fan picks: the row nearest the stage first (lowest row order), and in that row the
    run of seats whose middle is nearest the row's middle (ties: the lower numbers). Only a read:
    the caller holds them with reservations.services.reservation_hold, which locks the rows and
    answers SEAT_UNAVAILABLE should someone have taken one meanwhile."""
    if count < 1:
        return []
    rows: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)  # row order -> (number, id, free)
    aisle_after: set[tuple[int, int]] = set()  # (row order, number) of seats an aisle follows
    for seat_id, row_index, number, status, aisle in (
        show_seat_list(show=show, now=now)
        .filter(grade=grade)
        .values_list("id", "row_index", "number", "effective_status", "aisle_after")
    ):
        rows[row_index].append((number, seat_id, status == ShowSeatStatus.AVAILABLE))
        if aisle:
            aisle_after.add((row_index, number))
    for row_index in sorted(rows):
        seats = rows[row_index]  # in number order (show_seat_list's order)
        middle = (seats[0][0] + seats[-1][0]) / 2
        best: tuple[float, int] | None = None  # (distance from the middle, start index)
        run_start = None
        for i, (number, _seat_id, free) in enumerate(seats):
            if not free:
                run_start = None
                continue
            if run_start is None or number != seats[i - 1][0] + 1 or (row_index, seats[i - 1][0]) in aisle_after:
                run_start = i
            if i - run_start + 1 >= count:
                start = i - count + 1
                distance = abs((seats[start][0] + number) / 2 - middle)
                if best is None or distance < best[0]:
                    best = (distance, start)
        if best is not None:
            return [seat_id for _number, seat_id, _free in seats[best[1] : best[1] + count]]
    return []

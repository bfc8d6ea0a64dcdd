"""Reads of holds and tickets, and the inventory audit behind `manage.py check_inventory`: every
seat sold or held at most once, and every ticket matched by the ledger (aggregated in SQL, so it
stays fast on big shows)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import connection
from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Trunc

from accounts.models import User
from concerts.models import Show, ShowGradePrice, ShowSeat, ShowSeatStatus
from concerts.selectors import GRADE_ORDER, seat_is_free_q, seat_map_position
from core.clock import clock
from points.models import LedgerEntry
from reservations.models import Reservation, ReservationSeat, ReservationStatus, TicketRefund, TicketStatus


def reservation_payable_until(*, reservation: Reservation) -> datetime:
    """The last moment (exclusive) a hold can be paid: its own end or its show's start, whichever
    comes first (booking closes when the show starts). The API's `hold_expires_at` and
    `hold_seconds_left` and the payment page's countdown show it; the payment checks it."""
    return min(reservation.hold_expires_at, reservation.show.starts_at)


def reservation_seconds_left_to_pay(*, reservation: Reservation) -> int:
    """Whole seconds until reservation_payable_until; 0 unless the reservation is a hold."""
    if reservation.status != ReservationStatus.HELD:
        return 0
    return max(0, int((reservation_payable_until(reservation=reservation) - clock.now()).total_seconds()))


# The fan's holds of the concert that can still be paid (reservation_payable_until: before both the
# hold's end and the show's start). Written out: read after every payment of a rush, where the
# ORM's building of it cost more CPU than the statement (reservations.services, _SQL_*).
_SQL_FAN_HAS_LIVE_HOLD = """
    SELECT EXISTS (
        SELECT 1 FROM reservations_reservation reservation
        JOIN concerts_show concert_show ON concert_show.id = reservation.show_id
        WHERE reservation.user_id = %s AND concert_show.concert_id = %s
          AND reservation.status = %s AND reservation.hold_expires_at > %s AND concert_show.starts_at > %s
    )"""


def reservation_user_has_live_hold(*, user_id: int, concert_id: int, now: datetime) -> bool:
    """Whether the fan still has a hold of the concert that can be paid: their admission to
    booking must then stay (SPEC: it ends when none is left live)."""
    with connection.cursor() as cursor:
        cursor.execute(_SQL_FAN_HAS_LIVE_HOLD, [user_id, concert_id, ReservationStatus.HELD, now, now])
        return cursor.fetchone()[0]


class QueueEndReason(StrEnum):
    """Why a fan's place in a concert's waiting room ended (the fan pages' "session ended" page)."""

    PAID = "paid"  # paying ends the admission (when no other hold is left live)
    HOLD_EXPIRED = "hold_expired"  # a hold's payable time ran out unpaid
    PAYMENT_FAILED = "payment_failed"  # too many wrong PINs: the hold was released
    SESSION_TIMED_OUT = "session_timed_out"  # admitted, but no seat held within the session
    AWAY_TOO_LONG = "away_too_long"  # waiting, but silent (no poll) for longer than abandon_after


def queue_end_reason(
    *, user: User, concert_id: int, since: datetime | None, admitted: bool, now: datetime
) -> QueueEndReason:
    """Why the fan's place in the concert's waiting room (entered at `since`) has ended.

    What PostgreSQL knows decides first: the reservation of the concert that ended last since the
    fan entered (paid, or expired unpaid, or released after failed payments), because each of those
    ends the admission. Without one, the session ran out: if the fan was seen admitted
    (`admitted`, remembered by the fan pages) the admitted time ran out, else the fan was away from
    the waiting room too long. Redis cannot tell these two apart afterwards: both drop the token,
    and its `abandons` and `admits` sets keep a token only for the rate window (a minute).
    Without `since` (an entry the pages did not record) every reservation of the concert counts.
    """
    reservations = Reservation.objects.filter(user=user, show__concert_id=concert_id).select_related("show")
    if since is not None:
        reservations = reservations.filter(created_at__gte=since)
    ended: list[tuple[datetime, QueueEndReason]] = []
    for reservation in reservations:
        if reservation.status in (ReservationStatus.CONFIRMED, ReservationStatus.REFUNDED):
            ended.append((reservation.confirmed_at or reservation.created_at, QueueEndReason.PAID))
        elif reservation.status == ReservationStatus.RELEASED:
            ended.append((reservation.closed_at or reservation.created_at, QueueEndReason.PAYMENT_FAILED))
        elif reservation.status == ReservationStatus.EXPIRED:
            ended.append((reservation.closed_at or reservation.hold_expires_at, QueueEndReason.HOLD_EXPIRED))
        else:  # HELD: ended once its payable time passed, even before the expiry job closes it
            payable_until = reservation_payable_until(reservation=reservation)
            if payable_until <= now:
                ended.append((payable_until, QueueEndReason.HOLD_EXPIRED))
    if ended:
        return max(ended, key=lambda item: item[0])[1]
    return QueueEndReason.SESSION_TIMED_OUT if admitted else QueueEndReason.AWAY_TOO_LONG


# In the seats' order on the map. (The models' default orderings follow their foreign keys and
# would join the reservation and the show again only to sort.)
_SEATS_FOR_ANSWER = Prefetch(
    "seats",
    queryset=ReservationSeat.objects.select_related("show_seat").order_by("show_seat__row_index", "show_seat__number"),
)


def reservation_list_for_user(*, user: User) -> QuerySet[Reservation]:
    """The fan's holds and tickets, newest first, with what the answers show prefetched."""
    return (
        Reservation.objects.filter(user=user)
        .select_related("show__concert", "show__venue")
        .prefetch_related(_SEATS_FOR_ANSWER)
        .order_by("-created_at", "-id")
    )


def reservation_get_for_user(*, user: User, reservation_id: int) -> Reservation | None:
    return reservation_list_for_user(user=user).filter(pk=reservation_id).first()


def reservation_with_seats(*, reservation: Reservation, tickets: list[ReservationSeat]) -> Reservation:
    """A reservation just made (its show and concert loaded), given its seat rows in hand (the hold
    made them, each with its seat and reservation), ready for the answer without a query: in the
    seats' order on the map, where prefetch_related(_SEATS_FOR_ANSWER) would put them, so the
    answer reads them as it reads a listed reservation's."""
    seats = reservation.seats.all()  # not run: filled as Django's prefetching fills it
    seats._result_cache = sorted(tickets, key=lambda ticket: seat_map_position(ticket.show_seat))
    seats._prefetch_done = True
    reservation._prefetched_objects_cache = {"seats": seats}
    return reservation


def reservation_get_for_guard(*, user: User, reservation_id: int) -> Reservation | None:
    """The fan's reservation with only what the booking guard reads (status, hold end, concert):
    one light query (by get(): no ORDER BY to build for one row by its key)."""
    try:
        return (
            Reservation.objects.select_related("show")
            .only("status", "hold_expires_at", "show__concert_id", "show__starts_at")
            .get(user=user, pk=reservation_id)
        )
    except Reservation.DoesNotExist:
        return None


_PAID = [ReservationStatus.CONFIRMED, ReservationStatus.REFUNDED]


def reservation_payment_attempts_left(*, reservation: Reservation) -> int:
    """Failed payments the hold may still take before it is released."""
    return max(0, reservation.show.concert.max_payment_attempts - reservation.failed_payment_attempts)


def ticket_status(*, ticket: ReservationSeat) -> TicketStatus:
    if ticket.refund_id is not None:
        return TicketStatus.REFUNDED
    return TicketStatus.ACTIVE if ticket.active else TicketStatus.RELEASED


def refund_deadline(reservation: Reservation) -> datetime:
    """The last moment tickets of this reservation may be refunded (inclusive)."""
    return reservation.show.starts_at - timedelta(days=reservation.show.concert.refund_days_before)


def reservation_is_refundable(*, reservation: Reservation, now: datetime | None = None) -> bool:
    """Paid, and the refund deadline not passed."""
    now = now or clock.now()
    return reservation.status == ReservationStatus.CONFIRMED and now <= refund_deadline(reservation)


@dataclass(frozen=True)
class RefundPreview:
    """What refunding would give back, shown for the fan to confirm before anything changes."""

    reservation: Reservation
    tickets: list[ReservationSeat]
    amount: int
    deadline: datetime
    refundable: bool


def refund_preview(*, user: User, reservation_id: int, seat_id: int | None = None) -> RefundPreview | None:
    """The fan's own paid tickets that a refund of the reservation (or of one seat) would take
    back, their amount and the deadline; None when the reservation is not the fan's. The refund
    itself (reservations.services.reservation_refund) checks everything again under its locks."""
    reservation = reservation_get_for_user(user=user, reservation_id=reservation_id)
    if reservation is None:
        return None
    in_seat_order = reservation.seats.select_related("show_seat").order_by("show_seat__row_index", "show_seat__number")
    tickets = [
        ticket for ticket in in_seat_order if ticket.active and (seat_id is None or ticket.show_seat_id == seat_id)
    ]
    return RefundPreview(
        reservation=reservation,
        tickets=tickets,
        amount=sum(ticket.price for ticket in tickets),
        deadline=refund_deadline(reservation),
        refundable=bool(tickets) and reservation_is_refundable(reservation=reservation),
    )


@dataclass(frozen=True)
class LedgerBooking:
    """What a ledger entry paid for or refunded: the booking, concert, show and seats."""

    booking_number: str
    concert_title: str
    show_starts_at: datetime
    seat_labels: list[str]


_RESERVATION_REFERENCE = "reservation:"


def ledger_entry_bookings(*, entries: Iterable[LedgerEntry]) -> dict[int, LedgerBooking]:
    """The booking behind each payment or refund entry among `entries` (by entry id), in three
    queries whatever their number. A payment paid for the reservation's seats; a reservation's
    refund entries and its TicketRefund rows are written one each in the same transaction, so the
    n-th refund entry of a reservation is its n-th TicketRefund, whose seats it gave back."""
    references = {
        entry.pk: int(entry.reference.removeprefix(_RESERVATION_REFERENCE))
        for entry in entries
        if entry.kind in (LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.TICKET_REFUND)
        and entry.reference.startswith(_RESERVATION_REFERENCE)
        and entry.reference.removeprefix(_RESERVATION_REFERENCE).isdigit()
    }
    if not references:
        return {}
    reservations = Reservation.objects.select_related("show__concert").in_bulk(set(references.values()))
    seats = (
        ReservationSeat.objects.filter(reservation__in=reservations)
        .select_related("show_seat")
        .order_by("show_seat__row_index", "show_seat__number")
    )
    paid_labels: dict[int, list[str]] = {}
    refunded_labels: dict[int, list[str]] = {}
    for seat in seats:
        paid_labels.setdefault(seat.reservation_id, []).append(seat.show_seat.label)
        if seat.refund_id is not None:
            refunded_labels.setdefault(seat.refund_id, []).append(seat.show_seat.label)
    refunds_in_order: dict[int, list[int]] = {}
    for refund in TicketRefund.objects.filter(reservation__in=reservations).order_by("pk"):
        refunds_in_order.setdefault(refund.reservation_id, []).append(refund.pk)
    refund_entries_in_order = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.TICKET_REFUND,
        reference__in=[f"{_RESERVATION_REFERENCE}{pk}" for pk in reservations],
    ).order_by("pk")
    refund_of_entry: dict[int, int] = {}
    seen: Counter[int] = Counter()
    for entry in refund_entries_in_order.only("pk", "reference"):
        reservation_id = int(entry.reference.removeprefix(_RESERVATION_REFERENCE))
        in_order = refunds_in_order.get(reservation_id, [])
        if seen[reservation_id] < len(in_order):
            refund_of_entry[entry.pk] = in_order[seen[reservation_id]]
        seen[reservation_id] += 1

    bookings = {}
    for entry_id, reservation_id in references.items():
        reservation = reservations.get(reservation_id)
        if reservation is None:
            continue
        refund_id = refund_of_entry.get(entry_id)
        labels = refunded_labels.get(refund_id, []) if refund_id else paid_labels.get(reservation_id, [])
        bookings[entry_id] = LedgerBooking(
            booking_number=reservation.booking_number,
            concert_title=reservation.show.concert.title,
            show_starts_at=reservation.show.starts_at,
            seat_labels=labels,
        )
    return bookings


@dataclass
class InventoryReport:
    seats: Counter = field(default_factory=Counter)
    reservations: Counter = field(default_factory=Counter)
    breaches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaches


def inventory_check(*, max_listed: int = 50) -> InventoryReport:
    report = InventoryReport()
    report.seats.update(dict(ShowSeat.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")))
    report.reservations.update(
        dict(Reservation.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    )

    def breach(kind: str, items: list) -> None:
        if items:
            shown = ", ".join(map(str, items[:max_listed]))
            more = f" (and {len(items) - max_listed} more)" if len(items) > max_listed else ""
            report.breaches.append(f"{kind}: {shown}{more}")

    live = ReservationSeat.objects.filter(active=True)
    breach(
        "seat in more than one live hold or ticket",
        list(
            live.values("show_seat_id").annotate(n=Count("pk")).filter(n__gt=1).values_list("show_seat_id", flat=True)
        ),
    )
    # Each seat status must match its live reservation seat, if any.
    expected_owner = {
        ShowSeatStatus.SOLD: ReservationStatus.CONFIRMED,
        ShowSeatStatus.HELD: ReservationStatus.HELD,
    }
    for seat_status, reservation_status in expected_owner.items():
        breach(
            f"{seat_status} seat without exactly one live {reservation_status} reservation",
            list(
                ShowSeat.objects.filter(status=seat_status)
                .annotate(
                    owners=Count(
                        "reservation_seats",
                        filter=Q(
                            reservation_seats__active=True, reservation_seats__reservation__status=reservation_status
                        ),
                    )
                )
                .exclude(owners=1)
                .values_list("pk", flat=True)
            ),
        )
    breach(
        "AVAILABLE seat still in a live hold or ticket",
        list(live.filter(show_seat__status=ShowSeatStatus.AVAILABLE).values_list("show_seat_id", flat=True)),
    )
    breach(
        "live reservation seat of a closed reservation",
        list(
            live.exclude(reservation__status__in=[ReservationStatus.HELD, ReservationStatus.CONFIRMED]).values_list(
                "pk", flat=True
            )
        ),
    )

    # Money: one payment debit per paid reservation, none for the others; refunds credited exactly.
    debits = _ledger_by_reservation(LedgerEntry.Kind.PAYMENT)
    credits = _ledger_by_reservation(LedgerEntry.Kind.TICKET_REFUND)
    refunded = dict(
        TicketRefund.objects.values_list("reservation_id")
        .annotate(total=Sum("amount"))
        .values_list("reservation_id", "total")
    )
    refunded_seats = dict(
        ReservationSeat.objects.filter(refund__isnull=False)
        .values_list("reservation_id")
        .annotate(total=Sum("price"))
        .values_list("reservation_id", "total")
    )
    wrong_debit, unpaid_debit, wrong_credit = [], [], []
    for reservation_id, status, amount in Reservation.objects.values_list("pk", "status", "amount").iterator():
        count, total = debits.get(reservation_id, (0, 0))
        if status in _PAID and (count != 1 or total != -amount):
            wrong_debit.append(reservation_id)
        if status not in _PAID and count:
            unpaid_debit.append(reservation_id)
        credited = credits.get(reservation_id, (0, 0))[1]
        if not (credited == refunded.get(reservation_id, 0) == refunded_seats.get(reservation_id, 0)):
            wrong_credit.append(reservation_id)
    breach("paid reservation without exactly one matching ledger debit", wrong_debit)
    breach("unpaid reservation with a ledger debit", unpaid_debit)
    breach("refund not matched by ledger credits and refunded seats", wrong_credit)
    return report


def _ledger_by_reservation(kind: str) -> dict[int, tuple[int, int]]:
    """{reservation id: (entries, sum of amounts)} of one ledger kind, by the "reservation:<id>" reference."""
    rows = (
        LedgerEntry.objects.filter(kind=kind, reference__startswith="reservation:")
        .values_list("reference")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .values_list("reference", "n", "total")
    )
    return {int(reference.split(":", 1)[1]): (n, total) for reference, n, total in rows}


def show_has_other_open_show(*, show: Show, now: datetime) -> bool:
    """Whether the show's concert has another show, not cancelled, still to be sold (its booking
    has not closed): then the concert's waiting room stays when this show is cancelled."""
    return (
        Show.objects.filter(concert_id=show.concert_id, cancelled_at__isnull=True, booking_closes_at__gt=now)
        .exclude(pk=show.pk)
        .exists()
    )


def show_cancelled_fans_without_email(*, show: Show) -> list[User]:
    """Fans refunded because the show was cancelled who gave no e-mail: the organizer calls them."""
    refunded = TicketRefund.objects.filter(reservation__show=show, show_cancelled=True).values("reservation__user_id")
    return list(User.objects.filter(pk__in=refunded, email="").order_by("name", "pk"))


@dataclass(frozen=True)
class GradeSales:
    """One grade of a show on the sales dashboard. `held` counts live holds only (an expired hold
    is free, as the availability rule says); `revenue` is the paid ticket prices minus those
    refunded (a refund credits the ticket's full price)."""

    grade: str
    price: int | None  # None: the grade has no price, its seats are not on sale
    seats: int
    sold: int
    held: int
    free: int
    revenue: int


@dataclass(frozen=True)
class ShowSales:
    grades: list[GradeSales]

    @property
    def seats(self) -> int:
        return sum(g.seats for g in self.grades)

    @property
    def sold(self) -> int:
        return sum(g.sold for g in self.grades)

    @property
    def held(self) -> int:
        return sum(g.held for g in self.grades)

    @property
    def free(self) -> int:
        return sum(g.free for g in self.grades)

    @property
    def revenue(self) -> int:
        return sum(g.revenue for g in self.grades)


def show_sales_summary(*, show: Show, now: datetime) -> ShowSales:
    """Seats sold, held and free, and the revenue, per grade of the show (two aggregate queries)."""
    seats = {
        row["grade"]: row
        for row in ShowSeat.objects.filter(show=show)
        .values("grade")
        .annotate(
            seats=Count("id"),
            free=Count("id", filter=seat_is_free_q(now)),
            sold=Count("id", filter=Q(status=ShowSeatStatus.SOLD)),
        )
        .order_by()
    }
    money = {
        row["show_seat__grade"]: row
        for row in ReservationSeat.objects.filter(reservation__show=show, reservation__confirmed_at__isnull=False)
        .values("show_seat__grade")
        .annotate(paid=Sum("price"), refunded=Sum("price", filter=Q(refund__isnull=False)))
        .order_by()
    }
    prices = dict(ShowGradePrice.objects.filter(show=show).values_list("grade", "price"))
    grades = []
    for grade in GRADE_ORDER:
        if grade not in seats:
            continue
        row, paid = seats[grade], money.get(grade, {})
        grades.append(
            GradeSales(
                grade=grade,
                price=prices.get(grade),
                seats=row["seats"],
                sold=row["sold"],
                held=row["seats"] - row["free"] - row["sold"],
                free=row["free"],
                revenue=(paid.get("paid") or 0) - (paid.get("refunded") or 0),
            )
        )
    return ShowSales(grades=grades)


@dataclass(frozen=True)
class SalesBucket:
    starts_at: datetime
    tickets: int


# The buckets of the sales chart, finest first, with their length.
SALES_BUCKETS = (("minute", timedelta(minutes=1)), ("hour", timedelta(hours=1)), ("day", timedelta(days=1)))


def show_sales_over_time(*, show: Show, max_buckets: int) -> tuple[str, list[SalesBucket]]:
    """Tickets sold (paid, refunded later or not) per minute, hour or day of the payment: the
    finest of those that needs at most `max_buckets` buckets from the first sale to the last.
    Every bucket between them is listed, an empty one with 0. Buckets follow the current time zone."""
    paid = ReservationSeat.objects.filter(reservation__show=show, reservation__confirmed_at__isnull=False)
    span = paid.aggregate(first=Min("reservation__confirmed_at"), last=Max("reservation__confirmed_at"))
    if span["first"] is None:
        return SALES_BUCKETS[0][0], []
    kind, step = SALES_BUCKETS[-1]
    for candidate, length in SALES_BUCKETS:
        if (span["last"] - span["first"]) / length < max_buckets:
            kind, step = candidate, length
            break
    counts = dict(
        paid.annotate(bucket=Trunc("reservation__confirmed_at", kind))
        .values("bucket")
        .annotate(tickets=Count("id"))
        .order_by("bucket")
        .values_list("bucket", "tickets")
    )
    buckets, at, last = [], min(counts), max(counts)
    while at <= last:
        buckets.append(SalesBucket(starts_at=at, tickets=counts.get(at, 0)))
        at += step  # the service's zone (Asia/Seoul) keeps no summer time: a day is 24 h
    return kind, buckets

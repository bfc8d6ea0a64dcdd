"""Holds, payments, expiry and ticket refunds: where a seat is sold once and a point is never lost.

Locking, done the same way everywhere so that no two transactions wait on each other in a cycle:
  1. the fan's user row: hold (serialises one fan's holds, for the seats-per-user limit) and
     refund (whose refund row's foreign key to the user would otherwise take a key-share lock
     on it after the seats: a refund racing the same fan's hold of the seat deadlocked);
  2. the reservation row (payment, expiry, refund), locked alone (`of=("self",)`): locking a
     joined show row too would deadlock with holds, whose new rows check their key to it;
  3. the show seats, ordered by id;
  4. then the rows those lead to (reserved seats, the wallet inside points.services).
Cancelling a show (show_cancel) first locks every seat of the show (by id) and marks the show
cancelled, in one short transaction: a hold or payment that locked a seat before waits to commit
and is then found by the cancel, one that locks a seat after sees the mark and is refused. Then
each fan's tickets are refunded in that fan's own transaction, in the order above (user, the
fan's reservations of the show by id, seats, wallet): never the locks of two fans at once.
Time is read once per operation from core.clock, so a payment racing the expiry job is decided by
whichever locks the reservation first: it sees the other's result and acts on it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from redis.client import Pipeline

from accounts.models import User
from accounts.selectors import organization_require
from accounts.services import user_pin_check
from concerts.exceptions import ShowNotFound
from concerts.models import Show, ShowSeat, ShowSeatStatus
from concerts.prices import seat_price_is_valid
from concerts.seat_map import seat_map_changed
from concerts.selectors import (
    seat_is_free,
    seat_map_position,
    show_get_cached,
    show_grade_prices_unless_cancelled,
    show_is_open,
)
from core.clock import clock
from core.exceptions import ApplicationError, NotPermitted, ValidationFailed
from core.metrics import metric_incr_in, metric_incr_on_commit
from core.redis import redis_writes_on_commit
from points.exceptions import InsufficientBalance
from points.services import wallet_credit, wallet_debit
from queueing.selectors import concert_queue_policy_cache_clear
from queueing.services import queue_extend_until, queue_flush, queue_remove
from reservations.exceptions import (
    AlreadyPaid,
    AlreadyRefunded,
    HoldExpired,
    NotRefundable,
    PaymentAttemptsExceeded,
    PaymentInsufficientBalance,
    RefundWindowClosed,
    ReservationNotFound,
    SeatLimitExceeded,
    SeatNotOnSale,
    SeatUnavailable,
    ShowNotBookable,
    WrongPin,
)
from reservations.models import PaymentAttempt, Reservation, ReservationSeat, ReservationStatus, TicketRefund
from reservations.selectors import (
    refund_deadline,
    reservation_is_refundable,
    reservation_payable_until,
    reservation_payment_attempts_left,
    reservation_user_has_live_hold,
    reservation_with_seats,
    show_cancelled_fans_without_email,
    show_has_other_open_show,
)

# Who may act on someone else's behalf (the services check it; the admin only shows the actions).
REFUND_ON_BEHALF_PERMISSION = "reservations.refund_reservation"
SHOW_CANCEL_PERMISSION = "concerts.cancel_show"

# Reservations whose seats are held or sold.
_LIVE = [ReservationStatus.HELD, ReservationStatus.CONFIRMED]

# The statements every hold and payment of a rush runs, written out: the ORM spent 0.3-0.7 ms of
# CPU building and compiling each, two to four times the statement's own cost (README
# *Performance*). Each is the statement its ORM form sent, at the same step of the lock order;
# the rest of the booking uses the ORM.
# A reservation, locked (its show and concert come from the catalog memo: _lock_reservation).
_SQL_RESERVATION_LOCKED = "SELECT * FROM reservations_reservation WHERE id = %s FOR UPDATE"
# The asked seats of a show (a hold's first, unlocked read; then locked, in id order).
_SQL_SHOW_SEATS = "SELECT * FROM concerts_showseat WHERE show_id = %s AND id = ANY(%s)"
_SQL_SHOW_SEATS_LOCKED = _SQL_SHOW_SEATS + " ORDER BY id FOR UPDATE"
# A reservation's seats still its own, locked in id order with their reservation-seat rows (see
# _lock_seats).
_SQL_RESERVATION_SEATS_LOCKED = """
    SELECT seat.* FROM concerts_showseat seat
    JOIN reservations_reservationseat ticket ON ticket.show_seat_id = seat.id
    WHERE ticket.reservation_id = %s AND ticket.active
    ORDER BY seat.id FOR UPDATE"""
# A reservation's payment attempt sent with this Idempotency-Key.
_SQL_PAYMENT_BY_KEY = "SELECT * FROM reservations_paymentattempt WHERE reservation_id = %s AND idempotency_key = %s"
# The seats a fan holds (live holds) or owns of a show.
_SQL_FAN_SEATS_OF_SHOW = """
    SELECT count(*) FROM reservations_reservationseat ticket
    JOIN reservations_reservation reservation ON reservation.id = ticket.reservation_id
    WHERE ticket.active AND reservation.user_id = %s AND reservation.show_id = %s
      AND reservation.status = ANY(%s) AND NOT (reservation.status = %s AND reservation.hold_expires_at <= %s)"""


# --------------------------------------------------------------------------------------------
# Hold
# --------------------------------------------------------------------------------------------
def reservation_hold(*, user: User, show_id: int, seat_ids: list[int]) -> Reservation:
    """Hold every asked seat of the show for the fan, or none: SEAT_UNAVAILABLE names the taken ones.

    In the rush most refusals are seats another fan took a moment before: they are found by one
    read without a transaction or a lock, and only a hold that may succeed takes the locks."""
    now = clock.now()
    try:
        # Through the catalog memo, as the booking guard read it a moment before (an organizer's
        # edit shows within CATALOG_CACHE_SECONDS); a cancellation is read again once the seats
        # are locked (_hold).
        show = show_get_cached(show_id=show_id)
    except ShowNotFound:
        raise ValidationFailed(errors={"show_id": ["No such show."]}) from None
    wanted = sorted(set(seat_ids))
    if not wanted:
        raise ValidationFailed(errors={"seat_ids": ["Choose at least one seat."]})
    if not show_is_open(show=show, now=now):
        raise ShowNotBookable()
    # Unordered, then in the seats' order on the map, as the refusal names them.
    seats = ShowSeat.objects.raw(_SQL_SHOW_SEATS, [show.pk, wanted])
    _refuse_unknown_or_taken(sorted(seats, key=seat_map_position), wanted=wanted, now=now)
    return _hold(user=user, show=show, wanted=wanted, now=now)


def _refuse_unknown_or_taken(seats: list[ShowSeat], *, wanted: list[int], now: datetime) -> None:
    if len(seats) != len(wanted):
        unknown = sorted(set(wanted) - {seat.pk for seat in seats})
        raise ValidationFailed(errors={"seat_ids": [f"Not seats of this show: {unknown}"]})
    taken = [seat for seat in seats if not seat_is_free(seat, now)]
    if taken:
        raise SeatUnavailable(seats=[{"id": seat.pk, "label": seat.label} for seat in taken])


@transaction.atomic(durable=True)
def _hold(*, user: User, show: Show, wanted: list[int], now: datetime) -> Reservation:
    concert = show.concert
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_user WHERE id = %s FOR UPDATE", [user.pk])  # one hold at a time
        cursor.execute(_SQL_FAN_SEATS_OF_SHOW, [user.pk, show.pk, _LIVE, ReservationStatus.HELD, now])
        (held_or_owned,) = cursor.fetchone()
    if held_or_owned + len(wanted) > concert.seats_per_user:
        raise SeatLimitExceeded(limit=concert.seats_per_user, already=held_or_owned)

    # Locked, the rows are current: checked again, as another fan may have held a seat since.
    seats = list(ShowSeat.objects.raw(_SQL_SHOW_SEATS_LOCKED, [show.pk, wanted]))
    # Read after the seats are locked, so that a cancellation that locked them first is seen.
    prices = dict(show_grade_prices_unless_cancelled(show_id=show.pk))
    if not prices and _show_is_cancelled(show.pk):
        raise ShowNotBookable("This show has been cancelled.")
    _refuse_unknown_or_taken(seats, wanted=wanted, now=now)
    # A grade without a price, or a price outside the allowed range (stored before the rule, or
    # the range setting changed), would make a hold that can never be paid.
    unpayable = [seat for seat in seats if not seat_price_is_valid(prices.get(seat.grade))]
    if unpayable:
        raise SeatNotOnSale(seats=[{"id": seat.pk, "label": seat.label} for seat in unpayable])

    if any(seat.status == ShowSeatStatus.HELD for seat in seats):
        # Seats whose hold ran out are taken over: their old reservation lets go of them here,
        # and is closed as EXPIRED by the expiry job (its time had passed already).
        ReservationSeat.objects.filter(show_seat__in=seats, active=True).update(active=False)
    expires_at = now + timedelta(minutes=concert.hold_minutes)
    reservation = Reservation.objects.create(
        user=user,
        show=show,
        amount=sum(prices[seat.grade] for seat in seats),
        seats_held_with=len(seats),
        hold_expires_at=expires_at,
        created_at=now,
    )
    tickets = ReservationSeat.objects.bulk_create(
        ReservationSeat(reservation=reservation, show_seat=seat, price=prices[seat.grade]) for seat in seats
    )
    _seats_set(wanted, status=ShowSeatStatus.HELD, held_until=expires_at)
    # The answer shows the seats: given from here instead of read again (a fifth of a hold's CPU).
    reservation_with_seats(reservation=reservation, tickets=tickets)

    def after_commit(pipe: Pipeline) -> None:
        seat_map_changed(show_id=show.pk, client=pipe)
        metric_incr_in(pipe, "holds", concert=concert.pk)
        metric_incr_in(pipe, "held_seats", len(seats), concert=concert.pk)

    redis_writes_on_commit(after_commit)
    # The hold keeps the fan's admitted session alive until it is paid or can no longer be paid.
    payable_until = reservation_payable_until(reservation=reservation)
    transaction.on_commit(
        lambda: queue_extend_until(user_id=user.pk, concert_id=concert.pk, until=payable_until), robust=True
    )
    return reservation


# --------------------------------------------------------------------------------------------
# Payment
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PaymentResult:
    reservation_id: int
    status: str
    paid_amount: int
    balance: int


def reservation_pay(*, user: User, reservation_id: int, pin: str, idempotency_key: str | None = None) -> PaymentResult:
    """Pay a hold with the fan's points. Failures that change state (a counted attempt, a released
    hold) are committed before their error is raised, so the refusal and the record agree."""
    # The PIN is checked before any lock is taken, within the account's allowance of wrong PINs
    # across holds (PinAttemptsLimited past it: no hold attempt is counted then).
    pin_ok = user_pin_check(user=user, pin=pin)
    result, error = _pay(user=user, reservation_id=reservation_id, pin_ok=pin_ok, idempotency_key=idempotency_key)
    if error is not None:
        raise error
    return result


@transaction.atomic(durable=True)
def _pay(
    *, user: User, reservation_id: int, pin_ok: bool, idempotency_key: str | None
) -> tuple[PaymentResult | None, ApplicationError | None]:
    now = clock.now()
    reservation = _lock_own_reservation(user=user, reservation_id=reservation_id)

    if idempotency_key:
        earlier = list(PaymentAttempt.objects.raw(_SQL_PAYMENT_BY_KEY, [reservation.pk, idempotency_key]))
        if earlier:  # unique per reservation
            return _replay(earlier[0], reservation)
    refusal = _payment_refusal(reservation, now=now)
    if refusal is not None:
        return None, refusal

    seats = _lock_seats(reservation)
    if _show_is_cancelled(reservation.show_id):
        _close(reservation, status=ReservationStatus.RELEASED, now=now, reason="show_cancelled")
        return None, ShowNotBookable("This show has been cancelled.")
    if any(seat.status != ShowSeatStatus.HELD for seat in seats) or len(seats) != reservation.seats_held_with:
        # Another fan took over a seat after this hold's time had passed (see reservation_hold).
        _close(reservation, status=ReservationStatus.EXPIRED, now=now, reason="hold_expired")
        return None, HoldExpired()

    if not pin_ok:
        return None, _fail(reservation, WrongPin, now=now, idempotency_key=idempotency_key)
    try:  # wallet_debit refuses before it writes: this transaction stays usable
        entry = wallet_debit(user=user, amount=reservation.amount, reference=reservation.ledger_reference)
    except InsufficientBalance as short:
        return None, _short_of_balance(reservation, short, now=now, idempotency_key=idempotency_key)

    _seats_set([seat.pk for seat in seats], status=ShowSeatStatus.SOLD, held_until=None)
    reservation.status = ReservationStatus.CONFIRMED
    reservation.confirmed_at = now
    reservation.save(update_fields=["status", "confirmed_at"])
    PaymentAttempt.objects.create(
        reservation=reservation,
        outcome=PaymentAttempt.Outcome.CONFIRMED,
        amount=reservation.amount,
        balance_after=entry.balance_after,
        attempts_left=reservation_payment_attempts_left(reservation=reservation),
        idempotency_key=idempotency_key or "",
        created_at=now,
    )

    def after_commit(pipe: Pipeline) -> None:
        seat_map_changed(show_id=reservation.show_id, client=pipe)
        metric_incr_in(pipe, "payments", outcome=PaymentAttempt.Outcome.CONFIRMED)

    redis_writes_on_commit(after_commit)
    _leave_queue_on_commit(reservation, reason="paid")
    # The booking confirmation goes out with the next sweep of paid bookings (reservations.notices).
    return PaymentResult(reservation.pk, reservation.status, reservation.amount, entry.balance_after), None


def _payment_refusal(reservation: Reservation, *, now: datetime) -> ApplicationError | None:
    """Why this reservation cannot be paid now, if it cannot (row locked by the caller).
    A hold found past its time is closed here, as the expiry job would."""
    if reservation.status == ReservationStatus.CONFIRMED:
        return AlreadyPaid()
    if reservation.status == ReservationStatus.REFUNDED:
        return AlreadyRefunded()
    if reservation.status == ReservationStatus.RELEASED:
        if _show_is_cancelled(reservation.show_id):  # released by the show's cancellation
            return ShowNotBookable("This show has been cancelled.")
        return PaymentAttemptsExceeded(attempts_left=0)
    if reservation.status == ReservationStatus.EXPIRED:
        return HoldExpired()
    if reservation_payable_until(reservation=reservation) <= now:  # the hold's end, or the show's start
        _close(reservation, status=ReservationStatus.EXPIRED, now=now, reason="hold_expired")
        return HoldExpired()
    if reservation.amount <= 0:
        # Held when a grade could be priced 0 (concerts.prices now forbids it): the wallet takes
        # no such payment, so the hold ends here instead of failing on every try.
        _close(reservation, status=ReservationStatus.EXPIRED, now=now, reason="hold_unpayable")
        return HoldExpired()
    return None


def reservation_is_payable(*, reservation: Reservation) -> bool:
    """A live hold: only then does paying need the fan's admitted queue session (the guard)."""
    if reservation.status != ReservationStatus.HELD:
        return False
    return reservation_payable_until(reservation=reservation) > clock.now()


def _fail(
    reservation: Reservation, error: type[ApplicationError], *, now: datetime, idempotency_key: str | None
) -> ApplicationError:
    """Count a failed attempt (reservation row locked); the last allowed one releases the hold."""
    reservation.failed_payment_attempts += 1
    reservation.save(update_fields=["failed_payment_attempts"])
    attempts_left = reservation_payment_attempts_left(reservation=reservation)
    outcome = PaymentAttempt.Outcome(error.code)
    if attempts_left == 0:
        _close(reservation, status=ReservationStatus.RELEASED, now=now, reason="payment_attempts_exceeded")
        outcome, error = PaymentAttempt.Outcome.PAYMENT_ATTEMPTS_EXCEEDED, PaymentAttemptsExceeded
    metric_incr_on_commit("payments", outcome=outcome)
    PaymentAttempt.objects.create(
        reservation=reservation,
        outcome=outcome,
        attempts_left=attempts_left,
        idempotency_key=idempotency_key or "",
        created_at=now,
    )
    return error(attempts_left=attempts_left)


def _short_of_balance(
    reservation: Reservation, short: InsufficientBalance, *, now: datetime, idempotency_key: str | None
) -> ApplicationError:
    """Too little balance is not a failed attempt (SPEC: only wrong payment details are): the
    hold keeps its tries, and the answer says how much is missing so the fan can charge and pay."""
    missing = reservation.amount - short.extra["balance"]
    attempts_left = reservation_payment_attempts_left(reservation=reservation)
    metric_incr_on_commit("payments", outcome=PaymentAttempt.Outcome.INSUFFICIENT_BALANCE)
    PaymentAttempt.objects.create(
        reservation=reservation,
        outcome=PaymentAttempt.Outcome.INSUFFICIENT_BALANCE,
        balance_after=short.extra["balance"],
        attempts_left=attempts_left,
        idempotency_key=idempotency_key or "",
        created_at=now,
    )
    return PaymentInsufficientBalance(missing=missing, attempts_left=attempts_left)


def _replay(attempt: PaymentAttempt, reservation: Reservation) -> tuple[PaymentResult | None, ApplicationError | None]:
    """The first answer given for this Idempotency-Key, changing nothing."""
    if attempt.outcome == PaymentAttempt.Outcome.CONFIRMED:
        return PaymentResult(reservation.pk, ReservationStatus.CONFIRMED, attempt.amount, attempt.balance_after), None
    if attempt.outcome == PaymentAttempt.Outcome.INSUFFICIENT_BALANCE:
        missing = reservation.amount - (attempt.balance_after or 0)
        return None, PaymentInsufficientBalance(missing=missing, attempts_left=attempt.attempts_left)
    error = {
        PaymentAttempt.Outcome.WRONG_PIN: WrongPin,
        PaymentAttempt.Outcome.PAYMENT_ATTEMPTS_EXCEEDED: PaymentAttemptsExceeded,
    }[attempt.outcome]
    return None, error(attempts_left=attempt.attempts_left)


# --------------------------------------------------------------------------------------------
# Expiry
# --------------------------------------------------------------------------------------------
def _due_q(now: datetime) -> Q:
    """Holds that can no longer be paid: their time has passed or their show has started."""
    return Q(status=ReservationStatus.HELD) & (Q(hold_expires_at__lte=now) | Q(show__starts_at__lte=now))


def reservation_expire_due(*, limit: int = 500) -> int:
    """Close holds whose payable time has passed (EXPIRED): seats freed, and owners with no other
    live hold of the concert leave the queue.

    Safe on several workers at once: each hold is locked with SKIP LOCKED, so a hold being paid
    right now (its row locked by the payment) is left to that payment, and re-checked under the lock.
    """
    now = clock.now()
    due = list(Reservation.objects.filter(_due_q(now)).order_by("hold_expires_at").values_list("pk", flat=True)[:limit])
    return sum(_expire_one(reservation_id=reservation_id, now=now) for reservation_id in due)


@transaction.atomic(durable=True)
def _expire_one(*, reservation_id: int, now: datetime) -> bool:
    reservation = (
        # of=self: locking the joined show row too made holds of that show, whose commit checks
        # their foreign key to it (KEY SHARE), deadlock with this job (seen in the load test).
        Reservation.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("show")
        .filter(_due_q(now), pk=reservation_id)
        .first()
    )
    if reservation is None:
        return False
    _close(reservation, status=ReservationStatus.EXPIRED, now=now, reason="hold_expired")
    metric_incr_on_commit("hold_expirations")
    return True


# --------------------------------------------------------------------------------------------
# Refund
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefundResult:
    reservation: Reservation
    refund: TicketRefund
    balance: int


@transaction.atomic(durable=True)
def reservation_refund(
    *, actor: User, reservation_id: int, seat_ids: list[int] | None = None, on_behalf: bool = False
) -> RefundResult:
    """Refund some (seat_ids) or all tickets of a paid reservation, until the concert's refund
    deadline: the price goes back to the owner's wallet and the seats become available again.

    A fan refunds their own tickets; an organizer with the refund permission passes
    on_behalf=True to refund any fan's of their organizations' shows (NotPermitted otherwise).
    """
    if on_behalf and not (actor.is_active and actor.has_perm(REFUND_ON_BEHALF_PERMISSION)):
        raise NotPermitted("Only organizers with the refund permission may refund a fan's tickets.")
    now = clock.now()
    if on_behalf:
        found = (
            Reservation.objects.filter(pk=reservation_id)
            .values_list("user_id", "show__concert__organization_id")
            .first()
        )
        if found is None:
            raise ReservationNotFound()
        owner_id, organization_id = found
        organization_require(user=actor, organization_id=organization_id)
    else:
        owner_id = actor.pk
    owner = User.objects.select_for_update().filter(pk=owner_id).first()  # the lock order: user first
    reservation = (
        _lock_reservation(reservation_id=reservation_id)
        if on_behalf
        else _lock_own_reservation(user=actor, reservation_id=reservation_id)
    )
    if reservation.status == ReservationStatus.REFUNDED:
        raise AlreadyRefunded()
    if reservation.status != ReservationStatus.CONFIRMED:
        raise NotRefundable()
    if not reservation_is_refundable(reservation=reservation, now=now):
        raise RefundWindowClosed(refund_deadline=refund_deadline(reservation).isoformat())

    tickets = list(reservation.seats.select_related("show_seat").order_by("show_seat_id"))
    if seat_ids is None:
        chosen = [ticket for ticket in tickets if ticket.active]
    else:
        by_seat = {ticket.show_seat_id: ticket for ticket in tickets}
        unknown = sorted(set(seat_ids) - set(by_seat))
        if unknown or not seat_ids:
            raise ValidationFailed(errors={"seat_ids": [f"Not seats of this reservation: {unknown}"]})
        chosen = [by_seat[seat_id] for seat_id in sorted(set(seat_ids))]
        if any(not ticket.active for ticket in chosen):
            raise AlreadyRefunded()
    if not chosen:
        raise AlreadyRefunded()

    refund, balance = _refund_tickets(reservation, chosen, owner=owner, actor=actor, now=now)
    refund_id = refund.pk
    transaction.on_commit(lambda: _refund_notice_enqueue(refund_id=refund_id), robust=True)
    return RefundResult(reservation=reservation, refund=refund, balance=balance)


def _refund_tickets(
    reservation: Reservation,
    chosen: list[ReservationSeat],
    *,
    owner: User,
    actor: User,
    now: datetime,
    show_cancelled: bool = False,
) -> tuple[TicketRefund, int]:
    """Credit the chosen tickets' price to their owner (one ledger entry) and free their seats.
    Expects the owner's user row and the reservation row locked; locks the seats, then the wallet."""
    seat_rows = list(
        ShowSeat.objects.select_for_update().filter(pk__in=[t.show_seat_id for t in chosen]).order_by("pk")
    )
    amount = sum(ticket.price for ticket in chosen)
    refund = TicketRefund.objects.create(
        reservation=reservation, amount=amount, actor=actor, created_at=now, show_cancelled=show_cancelled
    )
    ReservationSeat.objects.filter(pk__in=[t.pk for t in chosen]).update(active=False, refund=refund)
    _seats_set([s.pk for s in seat_rows], status=ShowSeatStatus.AVAILABLE, held_until=None)
    _seat_map_changed_on_commit(reservation.show_id)
    entry = wallet_credit(user=owner, amount=amount, reference=reservation.ledger_reference)
    metric_incr_on_commit("ticket_refunds")
    if not reservation.seats.filter(active=True).exists():
        reservation.status = ReservationStatus.REFUNDED
        reservation.closed_at = now
        reservation.save(update_fields=["status", "closed_at"])
    return refund, entry.balance_after


# --------------------------------------------------------------------------------------------
# Show cancellation (an organizer's action)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShowCancelResult:
    show: Show
    newly_cancelled: bool  # False: the show was cancelled before (this run only finished the work)
    refunded_tickets: int
    refunded_amount: int
    released_holds: int
    room_closed: bool  # the concert had no other show to sell: its waiting room was emptied
    fans_without_email: list[User]  # every refunded fan of the show without an e-mail: to be called


def show_cancel(*, show: Show, actor: User) -> ShowCancelResult:
    """Cancel a show: it is no longer bookable anywhere, every ticket of it is refunded in full
    (whatever the refund deadline: the organizer cancels, not the fan), every hold of it is
    released, each refunded fan is told (e-mail, after the commit), and the concert's waiting room
    is emptied when no other show of the concert is still to be sold.

    Idempotent and resumable: a second run (or a run after a crash half-way) refunds only what is
    still live, so nobody is refunded twice. See the module docstring for why it is safe against
    holds and payments of the show at the same time.
    """
    if not (actor.is_active and actor.has_perm(SHOW_CANCEL_PERMISSION)):
        raise NotPermitted("Only organizers with the cancel permission may cancel a show.")
    organization_require(user=actor, organization_id=show.concert.organization_id)
    now = clock.now()
    newly_cancelled = _show_mark_cancelled(show_id=show.pk, now=now)
    fan_ids = list(
        Reservation.objects.filter(show_id=show.pk, status__in=_LIVE)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    tickets = amount = released = 0
    for fan_id in fan_ids:
        fan_tickets, fan_amount, fan_released = _show_cancel_for_fan(
            show_id=show.pk, user_id=fan_id, actor=actor, now=now
        )
        tickets, amount, released = tickets + fan_tickets, amount + fan_amount, released + fan_released
    room_closed = False
    if not show_has_other_open_show(show=show, now=now):
        queue_flush(concert_id=show.concert_id)
        room_closed = True
    concert_queue_policy_cache_clear(concert_id=show.concert_id)
    show.refresh_from_db(fields=["cancelled_at"])
    return ShowCancelResult(
        show=show,
        newly_cancelled=newly_cancelled,
        refunded_tickets=tickets,
        refunded_amount=amount,
        released_holds=released,
        room_closed=room_closed,
        fans_without_email=show_cancelled_fans_without_email(show=show),
    )


@transaction.atomic(durable=True)
def _show_mark_cancelled(*, show_id: int, now: datetime) -> bool:
    """Lock every seat of the show (by id, as holds and payments do) and mark it cancelled; a hold
    or payment holding one of the seats commits first. The UPDATE of the show row takes a lock
    that new reservations' key checks on it do not wait for. True the first time only."""
    list(ShowSeat.objects.select_for_update().filter(show_id=show_id).order_by("pk").values_list("pk", flat=True))
    return bool(Show.objects.filter(pk=show_id, cancelled_at__isnull=True).update(cancelled_at=now))


@transaction.atomic(durable=True)
def _show_cancel_for_fan(*, show_id: int, user_id: int, actor: User, now: datetime) -> tuple[int, int, int]:
    """One fan's part of a cancellation: refund their tickets, release their holds of the show.
    Returns (tickets refunded, amount, holds released)."""
    User.objects.select_for_update().filter(pk=user_id).first()
    # All of the fan's reservations of the show at once (by id), before any seat or the wallet;
    # rows a payment or expiry changed meanwhile are re-checked against the filter by PostgreSQL.
    reservations = list(
        Reservation.objects.select_for_update(of=("self",))
        .select_related("show__concert", "user")
        .filter(show_id=show_id, user_id=user_id, status__in=_LIVE)
        .order_by("pk")
    )
    tickets = amount = released = 0
    for reservation in reservations:
        if reservation.status == ReservationStatus.HELD:
            _close(reservation, status=ReservationStatus.RELEASED, now=now, reason="show_cancelled")
            released += 1
            continue
        chosen = list(reservation.seats.filter(active=True).order_by("show_seat_id"))
        if not chosen:
            continue
        refund, _balance = _refund_tickets(
            reservation, chosen, owner=reservation.user, actor=actor, now=now, show_cancelled=True
        )
        tickets, amount = tickets + len(chosen), amount + refund.amount
        refund_id = refund.pk
        transaction.on_commit(lambda refund_id=refund_id: _notice_enqueue(refund_id=refund_id), robust=True)
    return tickets, amount, released


def _notice_enqueue(*, refund_id: int) -> None:
    from reservations.tasks import send_show_cancelled_notice  # the tasks module imports this one

    send_show_cancelled_notice.delay(refund_id)


def _refund_notice_enqueue(*, refund_id: int) -> None:
    from reservations.tasks import send_refund_notice  # the tasks module imports this one

    send_refund_notice.delay(refund_id)


def _show_is_cancelled(show_id: int) -> bool:
    """Read fresh (after the caller locked seats of the show: see the module docstring)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT cancelled_at IS NOT NULL FROM concerts_show WHERE id = %s", [show_id])
        found = cursor.fetchone()
    return found is not None and found[0]


# --------------------------------------------------------------------------------------------
# Shared steps (each expects the reservation row locked by its caller)
# --------------------------------------------------------------------------------------------
def _lock_reservation(*, reservation_id: int) -> Reservation:
    """The reservation row, locked, with its show and concert. They come through the catalog memo,
    as the booking guard and the hold read them (an organizer's edit shows within
    CATALOG_CACHE_SECONDS); a cancellation is read fresh once the seats are locked."""
    reservation = next(iter(Reservation.objects.raw(_SQL_RESERVATION_LOCKED, [reservation_id])), None)
    if reservation is None:
        raise ReservationNotFound()
    reservation.show = show_get_cached(show_id=reservation.show_id)
    return reservation


def _lock_own_reservation(*, user: User, reservation_id: int) -> Reservation:
    reservation = _lock_reservation(reservation_id=reservation_id)
    if reservation.user_id != user.pk:
        raise ReservationNotFound()  # another fan's reservation does not exist for this caller
    return reservation


def _lock_seats(reservation: Reservation) -> list[ShowSeat]:
    # Locks the reservation's seat rows too (no `OF`): after waiting for a seat, PostgreSQL then
    # re-reads both, and a seat another fan took over meanwhile drops out (test_takeover_race).
    return list(ShowSeat.objects.raw(_SQL_RESERVATION_SEATS_LOCKED, [reservation.pk]))


def _seats_set(seat_ids: list[int], *, status: str, held_until: datetime | None) -> None:
    """Set the seats' status and hold end (rows locked by the caller)."""
    with connection.cursor() as cursor:
        sql = "UPDATE concerts_showseat SET status = %s, held_until = %s WHERE id = ANY(%s)"
        cursor.execute(sql, [status, held_until, seat_ids])


def _close(reservation: Reservation, *, status: str, now: datetime, reason: str) -> None:
    """End a hold (EXPIRED or RELEASED): free the seats it still has, and the fan's queue place."""
    seats = _lock_seats(reservation)
    ShowSeat.objects.filter(pk__in=[seat.pk for seat in seats], status=ShowSeatStatus.HELD).update(
        status=ShowSeatStatus.AVAILABLE, held_until=None
    )
    reservation.seats.filter(active=True).update(active=False)
    reservation.status = status
    reservation.closed_at = now
    reservation.save(update_fields=["status", "closed_at"])
    _seat_map_changed_on_commit(reservation.show_id)
    _leave_queue_on_commit(reservation, reason=reason)


def _seat_map_changed_on_commit(show_id: int) -> None:
    redis_writes_on_commit(lambda pipe: seat_map_changed(show_id=show_id, client=pipe))


def _leave_queue_on_commit(reservation: Reservation, *, reason: str) -> None:
    """Once the end of this hold (paid, expired, released) commits, the fan leaves the concert's
    waiting room, unless another hold of theirs for the concert is still live: that one still
    needs the admission to be paid (the hold extended the session to its end)."""
    user_id, concert_id = reservation.user_id, reservation.show.concert_id
    transaction.on_commit(
        lambda: _leave_queue_unless_held(user_id=user_id, concert_id=concert_id, reason=reason), robust=True
    )


def _leave_queue_unless_held(*, user_id: int, concert_id: int, reason: str) -> None:
    # Read after the commit, so that a hold of the fan committed before it is seen. (A hold the
    # same fan commits in the same instant, from another tab, may still miss it: that hold then
    # cannot be paid without entering again, and its seats come back at its end.)
    if not reservation_user_has_live_hold(user_id=user_id, concert_id=concert_id, now=clock.now()):
        queue_remove(user_id=user_id, concert_id=concert_id, reason=reason)

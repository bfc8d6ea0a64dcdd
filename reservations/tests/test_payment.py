from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import ShowSeat, ShowSeatStatus
from concerts.seat_map import seat_map_version_key
from core.redis import redis_client
from core.tests.test_metrics import scrape, value
from points.models import LedgerEntry
from queueing.tests.helpers import count_redis_round_trips
from reservations.exceptions import (
    AlreadyPaid,
    HoldExpired,
    PaymentAttemptsExceeded,
    PaymentInsufficientBalance,
    ReservationNotFound,
    WrongPin,
)
from reservations.models import PaymentAttempt, ReservationStatus
from reservations.services import reservation_expire_due, reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(clock):
    """A fan with 1,000,000 points holding B-1 (150,000) and C-1 (100,000)."""
    show = make_show()
    fan = fan_with_points(1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-1"))
    return fan, reservation


def test_payment_debits_the_wallet_sells_the_seats_and_confirms(held):
    fan, reservation = held

    result = reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    assert (result.status, result.paid_amount, result.balance) == ("CONFIRMED", 250_000, 750_000)
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED
    fan.wallet.refresh_from_db()
    assert fan.wallet.balance == 750_000
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.PAYMENT)
    assert (entry.amount, entry.reference) == (-250_000, f"reservation:{reservation.pk}")
    assert set(
        ShowSeat.objects.filter(reservation_seats__reservation=reservation).values_list("status", "held_until")
    ) == {(ShowSeatStatus.SOLD, None)}


def test_wrong_pin_keeps_the_hold_and_says_attempts_left(held):
    fan, reservation = held

    with pytest.raises(WrongPin) as refused:
        reservation_pay(user=fan, reservation_id=reservation.pk, pin="000000")

    assert refused.value.extra == {"attempts_left": 4}
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.HELD
    assert reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN).status == "CONFIRMED"


def test_too_little_balance_keeps_the_hold_says_what_is_missing_and_is_no_attempt(clock):
    show = make_show()
    fan = fan_with_points(200_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-1"))

    with pytest.raises(PaymentInsufficientBalance) as refused:
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    assert refused.value.status == 402 and refused.value.extra == {"missing": 50_000, "attempts_left": 5}
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).exists()
    for _ in range(6):  # however often: the hold keeps every try for wrong payment details
        with pytest.raises(PaymentInsufficientBalance):
            reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    fan.wallet.refresh_from_db()
    assert fan.wallet.balance == 200_000
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.HELD


def test_fifth_failure_releases_the_hold_and_says_so(held):
    fan, reservation = held
    for attempts_left in (4, 3, 2, 1):
        with pytest.raises(WrongPin) as refused:
            reservation_pay(user=fan, reservation_id=reservation.pk, pin="000000")
        assert refused.value.extra["attempts_left"] == attempts_left

    with pytest.raises(PaymentAttemptsExceeded) as refused:
        reservation_pay(user=fan, reservation_id=reservation.pk, pin="000000")

    assert refused.value.extra == {"attempts_left": 0}
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.RELEASED
    assert not reservation.seats.filter(active=True).exists()
    assert not ShowSeat.objects.filter(status=ShowSeatStatus.HELD).exists()
    with pytest.raises(PaymentAttemptsExceeded):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).exists()


def test_payment_after_the_hold_ended_is_hold_expired_and_frees_the_seats(held, clock):
    fan, reservation = held
    clock.advance(timedelta(minutes=5))

    with pytest.raises(HoldExpired):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.EXPIRED
    assert not ShowSeat.objects.filter(status=ShowSeatStatus.HELD).exists()
    fan.wallet.refresh_from_db()
    assert fan.wallet.balance == 1_000_000


def test_payment_one_second_before_the_end_goes_through(held, clock):
    fan, reservation = held
    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))

    assert reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN).status == "CONFIRMED"


def test_payment_after_a_seat_was_taken_over_is_hold_expired(held, clock):
    fan, reservation = held
    clock.advance(timedelta(minutes=6))
    other = fan_with_points()
    reservation_hold(user=other, show_id=reservation.show_id, seat_ids=[reservation.seats.first().show_seat_id])
    clock.freeze(reservation.hold_expires_at - timedelta(seconds=1))  # even a clock that lags behind

    with pytest.raises(HoldExpired):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).exists()


def test_paying_twice_is_already_paid_and_charges_once(held):
    fan, reservation = held
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    with pytest.raises(AlreadyPaid):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).count() == 1


def test_replaying_the_idempotency_key_returns_the_first_answer(held):
    fan, reservation = held
    first = reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN, idempotency_key="k1")

    again = reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN, idempotency_key="k1")

    assert again == first
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).count() == 1
    with pytest.raises(AlreadyPaid):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN, idempotency_key="k2")


def test_replaying_a_failed_attempt_key_does_not_count_again(held):
    fan, reservation = held
    for _ in range(3):
        with pytest.raises(WrongPin) as refused:
            reservation_pay(user=fan, reservation_id=reservation.pk, pin="000000", idempotency_key="same")
        assert refused.value.extra == {"attempts_left": 4}

    assert PaymentAttempt.objects.filter(reservation=reservation).count() == 1


def test_another_fans_reservation_does_not_exist_for_the_caller(held):
    _, reservation = held

    with pytest.raises(ReservationNotFound):
        reservation_pay(user=fan_with_points(), reservation_id=reservation.pk, pin=DEFAULT_PIN)


def test_expiry_job_closes_due_holds_only(clock):
    show = make_show()
    due = reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    clock.advance(timedelta(minutes=2))
    fresh = reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-2"))
    clock.advance(timedelta(minutes=3))

    assert reservation_expire_due() == 1
    assert reservation_expire_due() == 0  # idempotent

    due.refresh_from_db()
    fresh.refresh_from_db()
    assert (due.status, fresh.status) == (ReservationStatus.EXPIRED, ReservationStatus.HELD)
    assert dict(ShowSeat.objects.filter(show=show, row="B", number__in=[1, 2]).values_list("number", "status")) == {
        1: "AVAILABLE",
        2: "HELD",
    }


@pytest.mark.django_db(transaction=True)
def test_a_payment_takes_no_savepoint(held):
    """The wallet's debit runs in the payment's transaction as it is: a savepoint would cost two
    more round trips (SAVEPOINT, RELEASE) on every payment."""
    fan, reservation = held

    with CaptureQueriesContext(connection) as queries:
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).count() == 1
    assert not [query["sql"] for query in queries.captured_queries if "SAVEPOINT" in query["sql"].upper()]


def test_a_payment_takes_three_redis_round_trips(clock, client):
    """The PIN's count (one script), then after the commit the seat map's new version with the
    counter in one pipeline, and the fan's leaving of the waiting room (its own Redis)."""
    show = make_show()
    fan = fan_with_points(1_000_000)
    warm_up = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "C-1"))
    reservation_pay(user=fan, reservation_id=warm_up.pk, pin=DEFAULT_PIN)  # the PIN script is loaded
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    version_before = redis_client().get(seat_map_version_key(show.pk))

    with count_redis_round_trips() as round_trips:
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    assert round_trips.count == 3
    assert redis_client().get(seat_map_version_key(show.pk)) != version_before
    assert value(scrape(client), 'stagegate_payments_total{outcome="CONFIRMED"}') == 2

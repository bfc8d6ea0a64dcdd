"""Real threads against the real PostgreSQL (and Redis for the queue calls made on commit).

After each test the inventory and ledger audits must pass.
"""

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import ShowSeat, ShowSeatStatus
from core.clock import clock as the_clock
from core.exceptions import ApplicationError
from points.models import LedgerEntry
from reservations.models import Reservation, ReservationSeat, ReservationStatus
from reservations.services import reservation_expire_due, reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reservations-threads")]


def run_in_threads(calls, workers=20):
    """Run every call in a thread pool; returns each call's result or the ApplicationError it raised."""

    def run(call):
        try:
            return call()
        except ApplicationError as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, calls))


def outcome(result) -> str:
    return result.code if isinstance(result, ApplicationError) else "OK"


@pytest.fixture(autouse=True)
def audits_pass_afterwards():
    yield
    call_command("check_inventory")
    call_command("check_ledger")


def test_100_fans_holding_the_same_seat_exactly_one_wins(clock):
    show = make_show()
    fans = [fan_with_points(0) for _ in range(100)]
    seat = seats_of(show, "B-5")

    results = run_in_threads(
        [lambda fan=fan: reservation_hold(user=fan, show_id=show.pk, seat_ids=seat) for fan in fans]
    )

    assert Counter(map(outcome, results)) == {"OK": 1, "SEAT_UNAVAILABLE": 99}
    assert ReservationSeat.objects.filter(show_seat_id=seat[0], active=True).count() == 1


def test_overlapping_multi_seat_holds_never_deadlock_or_half_succeed(clock):
    show = make_show(rows=[("B", 12, "R")], prices={"R": 50_000})
    all_seats = seats_of(show, *[f"B-{n}" for n in range(1, 13)])
    rng = random.Random(7)
    asks = [rng.sample(all_seats, 3) for _ in range(60)]
    fans = [fan_with_points(0) for _ in asks]

    results = run_in_threads(
        [
            lambda fan=fan, ask=ask: reservation_hold(user=fan, show_id=show.pk, seat_ids=ask)
            for fan, ask in zip(fans, asks, strict=True)
        ]
    )

    outcomes = Counter(map(outcome, results))
    assert set(outcomes) <= {"OK", "SEAT_UNAVAILABLE"}  # no deadlock or other error reached a fan
    winners = [r for r in results if not isinstance(r, ApplicationError)]
    assert len(winners) == outcomes["OK"] >= 1
    held = ShowSeat.objects.filter(show=show, status=ShowSeatStatus.HELD)
    assert held.count() == 3 * len(winners)  # every winner got all three seats, nobody a part
    for winner in winners:
        assert winner.seats.filter(active=True).count() == 3


@pytest.mark.parametrize("round_", range(12))
def test_payment_racing_expiry_at_the_last_millisecond_has_exactly_one_outcome(clock, round_):
    show = make_show()
    fan = fan_with_points(1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-1"))
    web_time = reservation.hold_expires_at - timedelta(milliseconds=1)  # the payment is in time...
    worker_time = reservation.hold_expires_at  # ...and the expiry job finds the hold due

    def pay():
        with the_clock.frozen_in_thread(web_time):
            return reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    def expire():
        with the_clock.frozen_in_thread(worker_time):
            return reservation_expire_due()

    calls = [pay, expire] if round_ % 2 else [expire, pay]
    results = run_in_threads(calls, workers=2)

    reservation.refresh_from_db()
    fan.wallet.refresh_from_db()
    payments = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT)
    seats = set(ShowSeat.objects.filter(pk__in=seats_of(show, "B-1", "C-1")).values_list("status", flat=True))
    if reservation.status == ReservationStatus.CONFIRMED:
        assert payments.count() == 1 and fan.wallet.balance == 750_000 and seats == {"SOLD"}
    else:
        assert reservation.status == ReservationStatus.EXPIRED
        assert payments.count() == 0 and fan.wallet.balance == 1_000_000 and seats == {"AVAILABLE"}
        assert any(outcome(r) == "HOLD_EXPIRED" for r in results)


@pytest.mark.parametrize("same_key", [True, False])
def test_the_same_payment_sent_concurrently_charges_once(clock, same_key):
    show = make_show()
    fan = fan_with_points(1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    results = run_in_threads(
        [
            lambda n=n: reservation_pay(
                user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN, idempotency_key="k" if same_key else f"k{n}"
            )
            for n in range(8)
        ],
        workers=8,
    )

    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).count() == 1
    fan.wallet.refresh_from_db()
    assert fan.wallet.balance == 850_000
    if same_key:
        assert {outcome(r) for r in results} == {"OK"} and len({r.balance for r in results}) == 1
    else:
        assert Counter(map(outcome, results)) == {"OK": 1, "ALREADY_PAID": 7}


def test_many_fans_buying_a_small_show_never_oversell(clock):
    show = make_show(rows=[("B", 8, "R")], prices={"R": 70_000}, seats_per_user=2)
    all_seats = seats_of(show, *[f"B-{n}" for n in range(1, 9)])
    rng = random.Random(11)
    fans = [fan_with_points(200_000) for _ in range(30)]

    def journey(fan, ask):
        reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=ask)
        return reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    asks = [rng.sample(all_seats, 2) for _ in fans]

    results = run_in_threads([lambda fan=fan, ask=ask: journey(fan, ask) for fan, ask in zip(fans, asks, strict=True)])

    paid = [r for r in results if not isinstance(r, ApplicationError)]
    assert ShowSeat.objects.filter(show=show, status=ShowSeatStatus.SOLD).count() == 2 * len(paid) <= 8
    assert Reservation.objects.filter(status=ReservationStatus.CONFIRMED).count() == len(paid)

"""A payment at the last instant of a hold, racing another fan's hold of the same seat the instant
after it ran out: the seat is the newcomer's, and the late payment must not sell it.

After waiting for a lock, PostgreSQL re-reads only the rows the statement locks: the payment locks
the hold's reservation seats together with the seats (reservations.services._lock_seats), so it
sees the newcomer's takeover and not the joined row as it was before the wait.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import transaction

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import Show, ShowSeat, ShowSeatStatus
from core.clock import clock as the_clock
from points.models import Wallet
from reservations.models import Reservation, ReservationStatus
from reservations.services import reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of
from reservations.tests.test_lock_order import _run, _wait_until_waiting

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reservations-threads")]


def _at(moment, call):
    def in_thread():
        with the_clock.frozen_in_thread(moment):
            call()

    return in_thread


def test_a_late_payment_does_not_sell_a_seat_another_fan_took_over(clock):
    show = make_show(starts_in=timedelta(days=10))
    first, newcomer = fan_with_points(), fan_with_points()
    a1 = seats_of(show, "B-1")
    held = reservation_hold(user=first, show_id=show.pk, seat_ids=a1)
    balance_before = Wallet.objects.get(user=first).balance

    with ThreadPoolExecutor(max_workers=2) as pool:
        with transaction.atomic():
            # Holds the show row: the newcomer's hold stops at writing its reservation (a foreign
            # key to the show), after it has locked the seat and taken it from the expired hold.
            Show.objects.select_for_update().get(pk=show.pk)
            takeover = pool.submit(
                _run,
                _at(
                    held.hold_expires_at + timedelta(seconds=1),
                    lambda: reservation_hold(user=newcomer, show_id=show.pk, seat_ids=a1),
                ),
            )
            _wait_until_waiting(1)
            # The first fan pays, timed a second before the end: it waits for the seat.
            payment = pool.submit(
                _run,
                _at(
                    held.hold_expires_at - timedelta(seconds=1),
                    lambda: reservation_pay(user=first, reservation_id=held.pk, pin=DEFAULT_PIN),
                ),
            )
            _wait_until_waiting(2)
        outcomes = [takeover.result(timeout=30), payment.result(timeout=30)]

    assert outcomes == ["OK", "HOLD_EXPIRED"]
    seat = ShowSeat.objects.get(pk=a1[0])
    newcomer_hold = Reservation.objects.get(user=newcomer)
    assert (seat.status, seat.held_until) == (ShowSeatStatus.HELD, newcomer_hold.hold_expires_at)
    held.refresh_from_db()
    assert held.status == ReservationStatus.EXPIRED
    assert Wallet.objects.get(user=first).balance == balance_before

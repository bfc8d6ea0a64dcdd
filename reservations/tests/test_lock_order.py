"""One lock order everywhere (reservations/services.py): a refund and a hold by the same fan on the
same seat, or the expiry job and a hold taking over a seat of the expiring hold, never deadlock.

Each race is set up step by step with real threads against PostgreSQL: a blocker transaction holds
the contended seat, the racers start in a chosen order and are seen waiting (pg_stat_activity),
then the blocker lets go. With locks taken in different orders, PostgreSQL finds a deadlock and
aborts one of them.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, transaction

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import ShowSeat, ShowSeatStatus
from core.exceptions import ApplicationError
from reservations.models import ReservationStatus
from reservations.services import reservation_expire_due, reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reservations-threads")]


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # the blocker's transaction would see a frozen view
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _wait_until_waiting(count: int) -> None:
    deadline = time.monotonic() + 10
    while _waiting_on_locks() < count:
        assert time.monotonic() < deadline, "the racer never reached its lock"
        time.sleep(0.01)


def _run(call):
    """A racer's outcome: "OK", a domain error's code, or the database error (a deadlock) it met."""
    try:
        with connection.cursor() as cursor:  # a deadlock is found quickly; nothing waits forever
            cursor.execute("SET deadlock_timeout = '200ms'; SET lock_timeout = '10s'")
        call()
        return "OK"
    except ApplicationError as error:
        return error.code
    except Exception as error:  # noqa: BLE001 - the deadlock the test is about
        return f"{type(error).__name__}: {error}"
    finally:
        connection.close()


def _race(seat_id: int, first, second, *, second_waits: bool = True) -> list[str]:
    """Hold the seat in a blocker transaction; start `first`, then `second`, each once the one
    before waits on a lock; then let go of the seat and return both outcomes. A `second` that
    does not wait must have finished while the blocker still held the seat."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        with transaction.atomic():
            ShowSeat.objects.select_for_update().get(pk=seat_id)
            futures = [pool.submit(_run, first)]
            _wait_until_waiting(1)
            futures.append(pool.submit(_run, second))
            if second_waits:
                _wait_until_waiting(2)
            else:
                futures[1].result(timeout=10)
                assert not futures[0].done()  # the blocker still holds the seat
        return [future.result(timeout=30) for future in futures]


def test_a_refund_racing_a_hold_of_the_same_seat_by_the_same_fan_does_not_deadlock(clock):
    show = make_show(starts_in=timedelta(days=10))
    fan = fan_with_points()
    a1 = seats_of(show, "B-1")
    paid = reservation_hold(user=fan, show_id=show.pk, seat_ids=a1)
    reservation_pay(user=fan, reservation_id=paid.pk, pin=DEFAULT_PIN)

    # The refund reaches the seat first; the fan's new hold of it comes right after, reads the
    # seat still sold and is refused before it takes a lock (reservation_hold's first read).
    outcomes = _race(
        a1[0],
        lambda: reservation_refund(actor=fan, reservation_id=paid.pk),
        lambda: reservation_hold(user=fan, show_id=show.pk, seat_ids=a1),
        second_waits=False,
    )

    assert outcomes == ["OK", "SEAT_UNAVAILABLE"]
    paid.refresh_from_db()
    assert paid.status == ReservationStatus.REFUNDED
    assert ShowSeat.objects.get(pk=a1[0]).status == ShowSeatStatus.AVAILABLE
    # Once the refund has committed, the seat is the fan's again for the asking.
    assert reservation_hold(user=fan, show_id=show.pk, seat_ids=a1).status == ReservationStatus.HELD


def test_the_expiry_job_racing_a_hold_taking_over_its_seat_does_not_deadlock(clock):
    show = make_show()
    a1 = seats_of(show, "B-1")
    old = reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=a1)
    clock.advance(timedelta(minutes=6))
    newcomer = fan_with_points()

    # The hold takes the seat first and then writes its reservation (a foreign key to the show);
    # the expiry job, meanwhile, has locked the expiring hold and waits for the same seat.
    outcomes = _race(
        a1[0],
        lambda: reservation_hold(user=newcomer, show_id=show.pk, seat_ids=a1),
        reservation_expire_due,
    )

    assert outcomes == ["OK", "OK"]
    old.refresh_from_db()
    assert old.status == ReservationStatus.EXPIRED
    assert ShowSeat.objects.get(pk=a1[0]).status == ShowSeatStatus.HELD

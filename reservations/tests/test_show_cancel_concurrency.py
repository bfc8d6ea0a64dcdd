"""A show's cancellation racing payments and holds of that show, with real threads against the
real PostgreSQL: money conserved, nothing sold twice, ledger = balance, nothing left live."""

import pytest
from django.core.management import call_command

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import ShowSeat, ShowSeatStatus
from points.models import Wallet
from reservations import tasks
from reservations.models import Reservation, ReservationStatus
from reservations.services import reservation_hold, reservation_pay, show_cancel
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of
from reservations.tests.test_concurrency import outcome, run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reservations-threads")]


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(tasks.send_show_cancelled_notice, "delay", lambda refund_id: None)


@pytest.mark.parametrize("round_", range(3))
def test_payments_and_holds_racing_the_cancel_end_refunded_released_or_refused(clock, round_):
    show = make_show(rows=[("B", 10, "R"), ("C", 10, "R")], prices={"R": 100_000})
    labels = [f"B-{n}" for n in range(1, 11)]
    payers = [fan_with_points(100_000) for _ in labels]
    holds = [
        reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, label))
        for fan, label in zip(payers, labels, strict=True)
    ]
    late_fans = [fan_with_points(100_000) for _ in range(10)]
    organizer = organizer_user()

    calls = [
        lambda fan=fan, hold=hold: reservation_pay(user=fan, reservation_id=hold.pk, pin=DEFAULT_PIN)
        for fan, hold in zip(payers, holds, strict=True)
    ]
    calls += [
        lambda fan=fan, n=n: reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, f"C-{n}"))
        for n, fan in enumerate(late_fans, start=1)
    ]
    calls.insert(len(calls) // 2 - round_ * 3, lambda: show_cancel(show=show, actor=organizer))
    results = run_in_threads(calls, workers=12)

    assert all(outcome(r) in {"OK", "SHOW_NOT_BOOKABLE"} for r in results), [outcome(r) for r in results]
    # The cancel has run once; whatever committed before it was refunded or released by it, and
    # whatever came after was refused: nothing of the show is left live or sold.
    assert not Reservation.objects.filter(show=show, status__in=[ReservationStatus.HELD, ReservationStatus.CONFIRMED])
    assert not ShowSeat.objects.filter(show=show).exclude(status=ShowSeatStatus.AVAILABLE).exists()
    assert set(Wallet.objects.filter(user__in=payers + late_fans).values_list("balance", flat=True)) == {100_000}
    call_command("check_ledger")
    call_command("check_inventory")


def test_two_cancels_at_once_refund_each_ticket_once(clock):
    show = make_show(rows=[("B", 10, "R")], prices={"R": 100_000})
    fans = [fan_with_points(100_000) for _ in range(8)]
    for n, fan in enumerate(fans, start=1):
        hold = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, f"B-{n}"))
        reservation_pay(user=fan, reservation_id=hold.pk, pin=DEFAULT_PIN)
    organizer = organizer_user()

    results = run_in_threads([lambda: show_cancel(show=show, actor=organizer) for _ in range(4)], workers=4)

    assert sum(result.refunded_tickets for result in results) == 8
    assert sum(result.newly_cancelled for result in results) == 1
    assert set(Wallet.objects.filter(user__in=fans).values_list("balance", flat=True)) == {100_000}
    assert Reservation.objects.filter(show=show, status=ReservationStatus.REFUNDED).count() == 8
    call_command("check_ledger")
    call_command("check_inventory")

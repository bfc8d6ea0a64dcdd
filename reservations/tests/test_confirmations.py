"""A confirmation for every booking, refund and charge, by e-mail in the fan's language, sent once
by a task enqueued when the change commits (the test runs the task body, as a worker would)."""

from datetime import timedelta

import pytest
from django.core import mail

from accounts.tests.factories import DEFAULT_PIN
from points import tasks as points_tasks
from points.services import wallet_charge
from reservations import tasks
from reservations.exceptions import PaymentInsufficientBalance
from reservations.services import reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """What each notice task was given when the change committed."""
    calls = {"booking": [], "refund": [], "charge": []}
    monkeypatch.setattr(tasks.send_booking_confirmation, "delay", calls["booking"].append)
    monkeypatch.setattr(tasks.send_refund_notice, "delay", calls["refund"].append)
    monkeypatch.setattr(points_tasks.send_charge_receipt, "delay", calls["charge"].append)
    return calls


def test_a_booking_and_a_refund_are_confirmed_once_in_the_fans_language(enqueued, clock):
    show = make_show(starts_in=timedelta(days=10))
    fan = fan_with_points(1_000_000, email="fan@example.com", language="en")
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-2"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=seats_of(show, "C-2"))

    sent = [tasks.send_booking_confirmation(reservation_id) for reservation_id in enqueued["booking"]]
    sent += [tasks.send_refund_notice(refund_id) for refund_id in enqueued["refund"]]
    again = [tasks.send_booking_confirmation(enqueued["booking"][0]), tasks.send_refund_notice(enqueued["refund"][0])]

    assert (sent, again) == ([True, True], [False, False])
    booked, refunded = mail.outbox
    assert booked.to == ["fan@example.com"] and reservation.booking_number in booked.subject
    assert "Seats: B-1, C-2. Paid: 250,000 points." in booked.body
    assert "Seats C-2 of booking" in refunded.body and "100,000 points are back" in refunded.body


def test_a_charge_gets_a_receipt_in_korean_and_a_fan_without_email_gets_nothing(enqueued, clock):
    korean = fan_with_points(0, email="팬@example.com", language="ko")
    no_mail = fan_with_points(0)
    wallet_charge(user=korean, amount=50_000)
    wallet_charge(user=no_mail, amount=50_000)

    sent = [points_tasks.send_charge_receipt(entry_id) for entry_id in enqueued["charge"]]
    again = points_tasks.send_charge_receipt(enqueued["charge"][0])

    assert (sent, again) == ([True, False], False)
    (receipt,) = mail.outbox
    assert receipt.to == ["팬@example.com"] and "50,000" in receipt.subject and "포인트" in receipt.subject


def test_a_failed_payment_and_a_replayed_charge_send_nothing(enqueued, clock):
    show = make_show(starts_in=timedelta(days=10))
    fan = fan_with_points(0, email="fan@example.com")
    wallet_charge(user=fan, amount=50_000, idempotency_key="charge-1")
    wallet_charge(user=fan, amount=50_000, idempotency_key="charge-1")  # a retry: the same charge
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    with pytest.raises(PaymentInsufficientBalance):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    assert (len(enqueued["charge"]), enqueued["booking"]) == (1, [])

"""A confirmation for every booking, refund and charge, by e-mail in the fan's language, sent once.
Refunds and charges: by a task enqueued when the change commits (the test runs the task body, as a
worker would). Bookings: by the beat job that sweeps the paid bookings not confirmed yet."""

from datetime import timedelta
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail

from accounts.tests.factories import DEFAULT_PIN
from points import tasks as points_tasks
from points.services import wallet_charge
from reservations import notices, tasks
from reservations.exceptions import PaymentInsufficientBalance
from reservations.services import reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """What each notice task was given when the change committed."""
    calls = {"refund": [], "charge": []}
    monkeypatch.setattr(tasks.send_refund_notice, "delay", calls["refund"].append)
    monkeypatch.setattr(points_tasks.send_charge_receipt, "delay", calls["charge"].append)
    return calls


def _booked(fan, show, *labels):
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, *labels))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    return reservation


def test_a_booking_and_a_refund_are_confirmed_once_in_the_fans_language(enqueued, clock):
    show = make_show(starts_in=timedelta(days=10))
    fan = fan_with_points(1_000_000, email="fan@example.com", language="en")
    reservation = _booked(fan, show, "B-1", "C-2")
    reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=seats_of(show, "C-2"))

    sent = [tasks.send_booking_confirmations()] + [
        tasks.send_refund_notice(refund_id) for refund_id in enqueued["refund"]
    ]
    again = [tasks.send_booking_confirmations(), tasks.send_refund_notice(enqueued["refund"][0])]

    assert (sent, again) == ([1, True], [0, False])
    booked, refunded = mail.outbox
    assert booked.to == ["fan@example.com"] and reservation.booking_number in booked.subject
    assert "Seats: B-1, C-2. Paid: 250,000 points." in booked.body
    assert "Seats C-2 of booking" in refunded.body and "100,000 points are back" in refunded.body


def test_the_sweep_confirms_paid_bookings_oldest_first_a_batch_at_a_time(clock, settings):
    settings.BOOKING_CONFIRMATION_BATCH = 2
    show = make_show(starts_in=timedelta(days=10))
    fans = [fan_with_points(1_000_000, email=f"fan{n}@example.com") for n in range(3)]
    for fan, label in zip(fans, ["B-1", "B-2", "B-3"], strict=True):
        _booked(fan, show, label)
        clock.advance(timedelta(seconds=1))
    _booked(fan_with_points(1_000_000), show, "B-4")  # no e-mail: nothing to send, ever
    held = reservation_hold(user=fans[0], show_id=show.pk, seat_ids=seats_of(show, "C-1"))  # not paid

    assert [tasks.send_booking_confirmations() for _ in range(3)] == [2, 1, 0]
    assert [message.to for message in mail.outbox] == [[f"fan{n}@example.com"] for n in range(3)]
    held.refresh_from_db()
    assert held.confirmation_sent_at is None


def test_a_confirmation_the_mail_server_refused_goes_out_with_a_later_sweep_within_its_max_age(
    clock, settings, monkeypatch
):
    settings.BOOKING_CONFIRMATION_MAX_AGE_HOURS = 24
    show = make_show(starts_in=timedelta(days=10))
    first, second = (fan_with_points(1_000_000, email=f"fan{n}@example.com") for n in range(2))
    _booked(first, show, "B-1")
    _booked(second, show, "B-2")
    mail_fan = notices.mail_fan

    def server_down(*args, **kwargs):
        raise SMTPServerDisconnected("connection refused")

    monkeypatch.setattr(notices, "mail_fan", server_down)
    assert tasks.send_booking_confirmations() == 0  # the sweep stops at the first failure
    monkeypatch.setattr(notices, "mail_fan", mail_fan)
    clock.advance(timedelta(hours=23))
    assert tasks.send_booking_confirmations() == 2

    late = fan_with_points(1_000_000, email="late@example.com")
    _booked(late, show, "B-3")
    monkeypatch.setattr(notices, "mail_fan", server_down)
    tasks.send_booking_confirmations()
    monkeypatch.setattr(notices, "mail_fan", mail_fan)
    clock.advance(timedelta(hours=24, seconds=1))
    assert tasks.send_booking_confirmations() == 0  # too old now: never sent
    assert sorted(message.to[0] for message in mail.outbox) == ["fan0@example.com", "fan1@example.com"]


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

    assert len(enqueued["charge"]) == 1
    assert tasks.send_booking_confirmations() == 0

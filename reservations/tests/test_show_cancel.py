"""Cancelling a show (reservations.services.show_cancel): every ticket refunded in full, holds
released, the show closed everywhere, the fans told after the commit, idempotent."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import ShowSeat, ShowSeatStatus
from concerts.services import show_create
from points.models import LedgerEntry
from queueing.selectors import queue_stats
from queueing.services import queue_enter
from reservations import tasks
from reservations.exceptions import ShowNotBookable
from reservations.models import Reservation, ReservationStatus, TicketRefund
from reservations.services import reservation_hold, reservation_pay, reservation_refund, show_cancel
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """The refund ids whose notice task was enqueued (after the commit); the test runs the task
    body itself, as a worker would."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.send_show_cancelled_notice, "delay", ids.append)
    return ids


def paid(show, fan, *labels) -> Reservation:
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, *labels))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    reservation.refresh_from_db()
    return reservation


@pytest.fixture
def sold_show(clock):
    """A show a day away (past its 3-day refund deadline): two fans paid, one holds."""
    show = make_show(starts_in=timedelta(days=1))
    with_mail = fan_with_points(1_000_000, email="fan@example.com", language="en")
    without_mail = fan_with_points(1_000_000, name="전화팬")
    holder = fan_with_points(1_000_000)
    paid(show, with_mail, "B-1", "B-2")
    paid(show, without_mail, "C-1")
    reservation_hold(user=holder, show_id=show.pk, seat_ids=seats_of(show, "C-2"))
    return show, with_mail, without_mail, holder


def balance(user) -> int:
    user.wallet.refresh_from_db()
    return user.wallet.balance


def test_cancel_refunds_every_ticket_in_full_past_the_refund_deadline_and_releases_holds(sold_show, enqueued):
    show, with_mail, without_mail, holder = sold_show
    organizer = organizer_user()
    with pytest.raises(Exception, match="refund"):  # the fan's own refund is closed by now
        reservation_refund(actor=without_mail, reservation_id=Reservation.objects.get(user=without_mail).pk)

    result = show_cancel(show=show, actor=organizer)

    assert result.newly_cancelled and show.cancelled_at is not None
    assert (result.refunded_tickets, result.refunded_amount, result.released_holds) == (3, 400_000, 1)
    assert balance(with_mail) == balance(without_mail) == balance(holder) == 1_000_000
    for fan in (with_mail, without_mail):
        assert LedgerEntry.objects.filter(wallet__user=fan, kind=LedgerEntry.Kind.TICKET_REFUND).count() == 1
    statuses = dict(Reservation.objects.filter(show=show).values_list("user_id", "status"))
    assert statuses == {
        with_mail.pk: ReservationStatus.REFUNDED,
        without_mail.pk: ReservationStatus.REFUNDED,
        holder.pk: ReservationStatus.RELEASED,
    }
    assert not ShowSeat.objects.filter(show=show).exclude(status=ShowSeatStatus.AVAILABLE).exists()
    assert TicketRefund.objects.filter(reservation__show=show, show_cancelled=True, actor=organizer).count() == 2
    assert result.fans_without_email == [without_mail]
    assert len(enqueued) == 2  # one notice per refund, enqueued after each fan's commit
    call_command("check_ledger")
    call_command("check_inventory")


def test_cancelling_twice_refunds_nobody_twice(sold_show, enqueued):
    show, with_mail, without_mail, _holder = sold_show
    organizer = organizer_user()
    show_cancel(show=show, actor=organizer)

    again = show_cancel(show=show, actor=organizer)

    assert not again.newly_cancelled
    assert (again.refunded_tickets, again.refunded_amount, again.released_holds) == (0, 0, 0)
    assert again.fans_without_email == [without_mail]  # still listed for the organizer
    assert balance(with_mail) == balance(without_mail) == 1_000_000
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TICKET_REFUND).count() == 2
    assert len(enqueued) == 2


def test_notice_goes_out_once_in_the_fans_language_and_not_to_fans_without_email(sold_show, enqueued, mailoutbox):
    show, with_mail, _without_mail, _holder = sold_show
    show_cancel(show=show, actor=organizer_user())

    sent = [tasks.send_show_cancelled_notice(refund_id) for refund_id in enqueued]
    sent_again = [tasks.send_show_cancelled_notice(refund_id) for refund_id in enqueued]

    assert sorted(sent) == [False, True] and sent_again == [False, False]
    [mail] = mailoutbox
    assert mail.to == ["fan@example.com"]
    assert mail.subject.startswith("Cancelled: Test concert")
    assert "300,000 points were refunded" in mail.body
    assert TicketRefund.objects.get(reservation__user=with_mail).notified_at is not None


def test_notice_is_written_in_korean_for_a_korean_fan(clock, enqueued, mailoutbox):
    show = make_show()
    fan = fan_with_points(1_000_000, email="fan@example.com", language="ko")
    paid(show, fan, "B-1")
    show_cancel(show=show, actor=organizer_user())

    tasks.send_show_cancelled_notice(enqueued[0])

    [mail] = mailoutbox
    assert "취소" in mail.subject


def test_a_cancelled_show_is_not_bookable_anywhere(clock, enqueued):
    show = make_show()
    fan = fan_with_points(1_000_000)
    token = queue_enter(user_id=fan.pk, concert_id=show.concert_id).token
    show_cancel(show=show, actor=organizer_user())
    api = APIClient()
    api.force_authenticate(fan)

    with pytest.raises(ShowNotBookable):
        reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    entered = api.post(f"/api/v1/concerts/{show.concert_id}/queue-tokens")
    concerts = APIClient().get("/api/v1/concerts").json()
    listed = next(c for c in concerts if c["id"] == show.concert_id)

    assert entered.status_code == 409 and entered.json()["code"] == "BOOKING_CLOSED"
    assert listed["booking_opens_at"] is None
    assert token and queue_stats(concert_id=show.concert_id).active == 0  # the room was emptied


def test_the_room_stays_while_another_show_of_the_concert_is_on_sale(clock, enqueued):
    show = make_show()
    other = show_create(
        concert=show.concert,
        starts_at=show.starts_at + timedelta(days=1),
        booking_opens_at=clock.now() - timedelta(hours=1),
        prices={"VIP": 150_000, "R": 100_000},
    )
    fan = fan_with_points(1_000_000)
    queue_enter(user_id=fan.pk, concert_id=show.concert_id)

    result = show_cancel(show=show, actor=organizer_user())

    assert not result.room_closed
    assert queue_stats(concert_id=show.concert_id).active == 1
    api = APIClient()
    api.force_authenticate(fan)
    shows = {
        s["id"]: s["status"]
        for s in api.get(
            f"/api/v1/concerts/{show.concert_id}/shows",
            HTTP_X_QUEUE_TOKEN=queue_enter(user_id=fan.pk, concert_id=show.concert_id).token,
        ).json()
    }
    assert shows == {show.pk: "CLOSED", other.pk: "AVAILABLE"}
    reservation_hold(user=fan, show_id=other.pk, seat_ids=seats_of(other, "B-1"))  # the other one sells


def test_a_payment_of_a_hold_on_a_cancelled_show_is_refused_and_releases_it(clock, enqueued):
    """A hold the cancel has not reached yet (the per-fan step runs later) cannot be paid."""
    show = make_show()
    fan = fan_with_points(1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    show.cancelled_at = clock.now()
    show.save(update_fields=["cancelled_at"])

    with pytest.raises(ShowNotBookable):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.RELEASED
    assert balance(fan) == 1_000_000

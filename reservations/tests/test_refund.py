from datetime import timedelta

import pytest

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from concerts.models import ShowSeat, ShowSeatStatus
from core.exceptions import NotPermitted
from points.models import LedgerEntry
from reservations.exceptions import AlreadyRefunded, NotRefundable, RefundWindowClosed, ReservationNotFound
from reservations.models import ReservationStatus
from reservations.services import refund_deadline, reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(clock):
    """A fan who paid 250,000 for B-1 and C-1 of a show in 10 days; 750,000 points left."""
    show = make_show(starts_in=timedelta(days=10))
    fan = fan_with_points(1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-1"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    return fan, reservation


def test_refund_credits_the_full_price_and_frees_the_seats(paid):
    fan, reservation = paid

    result = reservation_refund(actor=fan, reservation_id=reservation.pk)

    assert (result.reservation.status, result.refund.amount, result.balance) == ("REFUNDED", 250_000, 1_000_000)
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.TICKET_REFUND)
    assert (entry.amount, entry.reference) == (250_000, f"reservation:{reservation.pk}")
    assert not ShowSeat.objects.filter(show=reservation.show).exclude(status=ShowSeatStatus.AVAILABLE).exists()


def test_refund_one_ticket_of_two(paid):
    fan, reservation = paid
    a1 = seats_of(reservation.show, "B-1")

    result = reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=a1)

    assert (result.reservation.status, result.refund.amount, result.balance) == ("CONFIRMED", 150_000, 900_000)
    assert ShowSeat.objects.get(pk=a1[0]).status == ShowSeatStatus.AVAILABLE
    with pytest.raises(AlreadyRefunded):
        reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=a1)
    result = reservation_refund(actor=fan, reservation_id=reservation.pk)
    assert (result.reservation.status, result.refund.amount, result.balance) == ("REFUNDED", 100_000, 1_000_000)


def test_refund_twice_is_already_refunded(paid):
    fan, reservation = paid
    reservation_refund(actor=fan, reservation_id=reservation.pk)

    with pytest.raises(AlreadyRefunded):
        reservation_refund(actor=fan, reservation_id=reservation.pk)

    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TICKET_REFUND).count() == 1


def test_refund_allowed_at_exactly_the_deadline_and_refused_one_second_later(paid, clock):
    fan, reservation = paid
    deadline = refund_deadline(reservation)
    assert deadline == reservation.show.starts_at - timedelta(days=3)

    clock.freeze(deadline + timedelta(seconds=1))
    with pytest.raises(RefundWindowClosed):
        reservation_refund(actor=fan, reservation_id=reservation.pk)
    clock.freeze(deadline)
    assert reservation_refund(actor=fan, reservation_id=reservation.pk).reservation.status == "REFUNDED"


def test_refund_days_is_a_concert_policy(clock):
    show = make_show(starts_in=timedelta(days=10), refund_days_before=12)
    fan = fan_with_points()
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    with pytest.raises(RefundWindowClosed):
        reservation_refund(actor=fan, reservation_id=reservation.pk)


def test_a_hold_cannot_be_refunded(clock):
    show = make_show()
    fan = fan_with_points()
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    with pytest.raises(NotRefundable):
        reservation_refund(actor=fan, reservation_id=reservation.pk)


def test_another_fan_cannot_refund_but_an_organizer_can_on_their_behalf(paid):
    fan, reservation = paid

    with pytest.raises(ReservationNotFound):
        reservation_refund(actor=fan_with_points(), reservation_id=reservation.pk)

    organizer = organizer_user()
    result = reservation_refund(actor=organizer, reservation_id=reservation.pk, on_behalf=True)
    assert result.balance == 1_000_000  # credited to the fan, not the organizer
    assert result.refund.actor == organizer
    assert result.reservation.status == ReservationStatus.REFUNDED


@pytest.mark.security
def test_refunding_on_a_fans_behalf_needs_the_permission_in_the_service_itself(paid):
    fan, reservation = paid

    for actor in (UserFactory(is_staff=True), fan_with_points()):
        with pytest.raises(NotPermitted):
            reservation_refund(actor=actor, reservation_id=reservation.pk, on_behalf=True)

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED

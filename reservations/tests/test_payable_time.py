"""Booking closes at the show's start: a hold can be paid until the earlier of its own end and its
show's start, and the API and the payment page show that time."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import ShowSeat, ShowSeatStatus
from pages.tests.helpers import admit
from points.models import LedgerEntry
from queueing.services import queue_enter
from queueing.tests.helpers import token_status
from reservations.exceptions import HoldExpired
from reservations.models import ReservationStatus
from reservations.selectors import reservation_payable_until
from reservations.services import reservation_expire_due, reservation_hold, reservation_is_payable, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def late(clock):
    """A fan holding B-1 of a show that starts in 2 minutes (the hold itself would last 5), and the
    fan's queue token."""
    show = make_show(starts_in=timedelta(minutes=2))
    fan = fan_with_points()
    token = queue_enter(user_id=fan.pk, concert_id=show.concert_id).token
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    return show, fan, reservation, token


def test_the_payable_time_is_the_earlier_of_the_hold_end_and_the_show_start(late, clock):
    show, _, reservation, _ = late

    assert reservation.hold_expires_at == clock.now() + timedelta(minutes=5)
    assert reservation_payable_until(reservation=reservation) == show.starts_at


def test_a_hold_cannot_be_paid_once_its_show_has_started(late, clock):
    show, fan, reservation, _ = late
    clock.freeze(show.starts_at)

    assert not reservation_is_payable(reservation=reservation)
    with pytest.raises(HoldExpired):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.EXPIRED
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).exists()
    assert ShowSeat.objects.get(pk=reservation.seats.get().show_seat_id).status == ShowSeatStatus.AVAILABLE


def test_one_second_before_the_show_starts_it_can_still_be_paid(late, clock):
    show, fan, reservation, _ = late
    clock.freeze(show.starts_at - timedelta(seconds=1))

    assert reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN).status == "CONFIRMED"


def test_the_expiry_job_closes_holds_whose_show_has_started(late, clock):
    show, fan, reservation, token = late
    clock.freeze(show.starts_at)

    assert reservation_expire_due() == 1

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.EXPIRED
    assert token_status(user_id=fan.pk, token=token) is None  # admission ended too


def test_the_api_shows_the_payable_time_and_answers_410_after_the_start(late, clock):
    show, fan, reservation, token = late
    api = APIClient()
    api.force_authenticate(fan)
    api.credentials(HTTP_X_QUEUE_TOKEN=token)

    body = api.get(f"/api/v1/reservations/{reservation.pk}").json()

    assert body["hold_seconds_left"] == 120
    assert body["hold_expires_at"] == timezone.localtime(show.starts_at).isoformat()
    clock.freeze(show.starts_at)
    response = api.post(f"/api/v1/reservations/{reservation.pk}/payment", {"pin": DEFAULT_PIN}, format="json")
    assert (response.status_code, response.json()["code"]) == (410, "HOLD_EXPIRED")


def test_the_payment_page_counts_down_to_the_show_start(client, clock):
    show = make_show(starts_in=timedelta(minutes=2))
    fan = fan_with_points()
    client.force_login(fan)
    admit(client, fan, show.concert_id)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    page = client.get(reverse("pages:payment", args=[reservation.pk])).content.decode()

    assert re.search(r'data-countdown="120"', page)

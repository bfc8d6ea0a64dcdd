"""A seat's price lies within [SEAT_PRICE_MIN, SEAT_PRICE_MAX] (1 won, the smallest payment the
wallet takes, to 10,000,000): organizers are refused anything else with a clear message (admin,
seed_month, the show service), and the hold refuses a seat whose stored price is outside it, so
no hold exists that cannot be paid."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import Concert, Show, ShowGradePrice, ShowSeat, ShowSeatStatus
from concerts.services import show_create
from concerts.tests.factories import ConcertFactory
from concerts.tests.test_admin import show_add_data
from core.exceptions import ValidationFailed
from pages.tests.helpers import admit
from points.models import LedgerEntry
from reservations.exceptions import SeatUnavailable
from reservations.models import Reservation, ReservationStatus
from reservations.services import reservation_hold
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


def seed_month(*args) -> str:
    out = StringIO()
    call_command("seed_month", *args, stdout=out)
    return out.getvalue()


# --- the show service --------------------------------------------------------------------------


@pytest.mark.parametrize("price", [0, -1, 10_000_001, 2**31, 10**20])
def test_the_show_service_refuses_a_price_outside_the_range(clock, price):
    concert = ConcertFactory()

    with pytest.raises(ValidationFailed) as refused:
        show_create(
            concert=concert,
            starts_at=clock.now() + timedelta(days=3),
            booking_opens_at=clock.now(),
            prices={"VIP": price},
        )

    assert "VIP" in str(refused.value.extra["errors"]["prices"])
    assert not Show.objects.exists()


@pytest.mark.parametrize("price", [1, 10_000_000])
def test_the_range_ends_are_allowed(clock, price):
    show = make_show(prices={"VIP": price})

    assert show.grade_prices.get().price == price


def test_the_range_is_a_setting(clock, settings):
    settings.SEAT_PRICE_MIN, settings.SEAT_PRICE_MAX = 1_000, 200_000

    with pytest.raises(ValidationFailed):
        make_show(prices={"VIP": 999})
    with pytest.raises(ValidationFailed):
        make_show(prices={"VIP": 200_001})
    assert make_show(prices={"VIP": 200_000})


# --- seed_month --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "message"),
    [("0", "at least 1 won"), ("99999999999", "at most 10,000,000 won"), ("10000001", "at most 10,000,000 won")],
)
def test_seed_month_refuses_a_price_outside_the_range_with_a_clear_message(price, message):
    concert = ConcertFactory()

    with pytest.raises(CommandError) as refused:
        seed_month(str(concert.pk), "2026-12", "--price", f"VIP={price}")

    assert message in str(refused.value) and "VIP" in str(refused.value)
    assert not Show.objects.exists()


def test_seed_month_refuses_a_concert_default_price_outside_the_range():
    concert = ConcertFactory(default_price=0)

    with pytest.raises(CommandError) as refused:
        seed_month(str(concert.pk), "2026-12")

    assert "at least 1 won" in str(refused.value)
    assert not Show.objects.exists()


# --- the admin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("price", "message"), [("0", "at least 1 won"), ("12000000", "at most 10,000,000 won")])
def test_the_admin_refuses_a_grade_price_outside_the_range(clock, org_client, price, message):
    concert = ConcertFactory()
    now = clock.now().replace(microsecond=0)

    response = org_client.post(
        "/admin/concerts/show/add/",
        show_add_data(concert, now + timedelta(days=10), now + timedelta(days=1), {"VIP": price, "R": "100000"}),
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Show.objects.exists() and not ShowGradePrice.objects.exists()


def test_the_admin_refuses_a_price_change_to_zero(clock, org_client):
    show = make_show(prices={"VIP": 150_000, "R": 100_000})
    vip, r = show.grade_prices.get(grade="VIP"), show.grade_prices.get(grade="R")
    form = org_client.get(f"/admin/concerts/show/{show.pk}/change/").context["adminform"].form
    post = {}
    for name in ("starts_at", "booking_opens_at", "booking_closes_at"):
        local = form.fields[name].prepare_value(form.initial[name])
        post[f"{name}_0"], post[f"{name}_1"] = str(local)[:10], str(local)[11:19]
    post.update(
        {
            "concert": show.concert_id,
            "venue": show.venue_id,
            "grade_prices-TOTAL_FORMS": "2",
            "grade_prices-INITIAL_FORMS": "2",
            "grade_prices-MIN_NUM_FORMS": "0",
            "grade_prices-MAX_NUM_FORMS": "4",
            "grade_prices-0-id": vip.pk,
            "grade_prices-0-show": show.pk,
            "grade_prices-0-grade": "VIP",
            "grade_prices-0-price": "0",
            "grade_prices-1-id": r.pk,
            "grade_prices-1-show": show.pk,
            "grade_prices-1-grade": "R",
            "grade_prices-1-price": "100000",
        }
    )

    response = org_client.post(f"/admin/concerts/show/{show.pk}/change/", post)

    assert response.status_code == 200, response.status_code
    assert "at least 1 won" in response.content.decode()
    vip.refresh_from_db()
    assert vip.price == 150_000


def test_the_admin_refuses_a_concert_default_price_of_zero(org_client):
    concert = ConcertFactory()
    data = {
        "title": concert.title,
        "artist": concert.artist,
        "description": "",
        "venue": concert.venue_id,
        "show_time": "19:00:00",
        "default_price": "0",
        "queue_max_waiting": "500",
        "queue_active_size": "10",
        "session_minutes": "15",
        "prequeue_minutes": "30",
        "abandon_after_minutes": "5",
        "admissions_per_minute": "",
        "hold_minutes": "3",
        "seats_per_user": "1",
        "max_payment_attempts": "5",
        "refund_days_before": "3",
        "shows-TOTAL_FORMS": "0",
        "shows-INITIAL_FORMS": "0",
        "shows-MIN_NUM_FORMS": "0",
        "shows-MAX_NUM_FORMS": "0",
    }

    response = org_client.post(f"/admin/concerts/concert/{concert.pk}/change/", data)

    assert response.status_code == 200
    assert "at least 1 won" in response.content.decode()
    assert Concert.objects.get(pk=concert.pk).default_price == 100_000


# --- the hold ----------------------------------------------------------------------------------


def test_a_seat_priced_below_the_minimum_cannot_be_held(clock):
    show = make_show()
    ShowGradePrice.objects.filter(show=show, grade="VIP").update(price=0)  # stored before the rule existed
    fan = fan_with_points()

    with pytest.raises(SeatUnavailable) as refused:
        reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-1"))

    assert refused.value.message == "Some of these seats are not on sale: their price is not set correctly."
    assert refused.value.extra["seats"] == [{"id": seats_of(show, "B-1")[0], "label": "B-1"}]
    assert not Reservation.objects.exists()
    assert reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "C-1")).amount == 100_000


def test_a_seat_priced_outside_the_range_setting_cannot_be_held(clock, settings):
    show = make_show()  # VIP 150,000, R 100,000
    settings.SEAT_PRICE_MAX = 120_000

    with pytest.raises(SeatUnavailable):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    settings.SEAT_PRICE_MIN = 120_000
    with pytest.raises(SeatUnavailable):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "C-1"))


def test_a_hold_of_nothing_left_from_before_the_rule_is_closed_not_a_500(client, clock):
    show = make_show()
    fan = fan_with_points()
    client.force_login(fan)
    admit(client, fan, show.concert_id)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    Reservation.objects.filter(pk=reservation.pk).update(amount=0)  # held when grades could be priced 0

    response = client.post(reverse("pages:payment", args=[reservation.pk]), {"pin": DEFAULT_PIN})

    assert response.status_code == 410
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.EXPIRED
    assert ShowSeat.objects.get(pk=seats_of(show, "B-1")[0]).status == ShowSeatStatus.AVAILABLE
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).exists()

"""The seat map as a kept, versioned snapshot (concerts.seat_map): every change of the seats is
seen at once, a hold that runs out reads AVAILABLE at its end, and an unchanged map costs a 304."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PIN
from concerts.models import ShowGradePrice, ShowSeatStatus
from queueing.services import queue_enter
from reservations.services import reservation_expire_due, reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def show(clock):
    return make_show()


@pytest.fixture
def fan():
    return fan_with_points(1_000_000)


def seat_map(show, fan, etag: str | None = None):
    api = APIClient()
    api.force_authenticate(fan)
    token = queue_enter(user_id=fan.pk, concert_id=show.concert_id).token
    headers = {"HTTP_X_QUEUE_TOKEN": token}
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return api.get(f"/api/v1/shows/{show.pk}/seats", **headers)


def statuses(response) -> dict[str, str]:
    assert response.status_code == 200, response.content
    return {seat["label"]: seat["status"] for seat in response.json()}


def test_the_map_follows_holds_payments_and_refunds_and_an_unchanged_map_is_a_304(
    show, fan, django_capture_on_commit_callbacks
):
    first = seat_map(show, fan)
    assert set(statuses(first).values()) == {"AVAILABLE"}
    etag = first["ETag"]
    unchanged = seat_map(show, fan, etag=etag)
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged["ETag"] == etag

    with django_capture_on_commit_callbacks(execute=True):
        reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-2"))
    after_hold = seat_map(show, fan, etag=etag)  # the old ETag no longer matches: a full answer
    assert statuses(after_hold)["B-1"] == statuses(after_hold)["C-2"] == "HELD"
    assert after_hold["ETag"] != etag

    with django_capture_on_commit_callbacks(execute=True):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    assert statuses(seat_map(show, fan))["B-1"] == "SOLD"

    with django_capture_on_commit_callbacks(execute=True):
        reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=seats_of(show, "B-1"))
    after_refund = statuses(seat_map(show, fan))
    assert (after_refund["B-1"], after_refund["C-2"]) == ("AVAILABLE", "SOLD")


def test_a_hold_reads_available_from_the_moment_it_runs_out_before_any_job_runs(
    show, fan, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-3"))
    assert statuses(seat_map(show, fan))["B-3"] == "HELD"

    clock.advance(timedelta(minutes=show.concert.hold_minutes, seconds=1))
    assert statuses(seat_map(show, fan))["B-3"] == "AVAILABLE"  # nothing announced a change

    with django_capture_on_commit_callbacks(execute=True):
        assert reservation_expire_due() == 1
    reservation.refresh_from_db()
    assert statuses(seat_map(show, fan))["B-3"] == "AVAILABLE"


def test_a_price_change_changes_the_map(show, fan, django_capture_on_commit_callbacks):
    assert {s["price"] for s in seat_map(show, fan).json() if s["grade"] == "VIP"} == {150_000}

    with django_capture_on_commit_callbacks(execute=True):
        price = ShowGradePrice.objects.get(show=show, grade="VIP")
        price.price = 170_000
        price.save()
    assert {s["price"] for s in seat_map(show, fan).json() if s["grade"] == "VIP"} == {170_000}

    with django_capture_on_commit_callbacks(execute=True):
        ShowGradePrice.objects.filter(pk=price.pk).first().delete()
    assert {s["grade"] for s in seat_map(show, fan).json()} == {"R"}  # an unpriced grade is off sale


def test_a_change_that_bypasses_the_services_is_seen_within_the_maximum_age(show, fan, settings):
    assert statuses(seat_map(show, fan))["C-1"] == "AVAILABLE"
    show.seats.filter(row="C", number=1).update(status=ShowSeatStatus.SOLD)  # no announcement

    assert statuses(seat_map(show, fan))["C-1"] == "AVAILABLE"  # the kept map
    settings.SEAT_MAP_MAX_AGE_SECONDS = 0
    assert statuses(seat_map(show, fan))["C-1"] == "SOLD"


def test_while_the_seats_keep_changing_a_process_rebuilds_at_most_once_per_interval(
    show, fan, settings, django_capture_on_commit_callbacks
):
    settings.SEAT_MAP_REBUILD_SECONDS = 60
    assert statuses(seat_map(show, fan))["B-5"] == "AVAILABLE"
    with django_capture_on_commit_callbacks(execute=True):
        reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-5"))

    assert statuses(seat_map(show, fan))["B-5"] == "AVAILABLE"  # the kept map, built just now
    settings.SEAT_MAP_REBUILD_SECONDS = 0
    assert statuses(seat_map(show, fan))["B-5"] == "HELD"

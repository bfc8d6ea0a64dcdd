from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from concerts.models import Show, ShowSeat, ShowSeatStatus
from concerts.seat_map import seat_map_version_key
from core.exceptions import ValidationFailed
from core.redis import redis_client
from core.tests.test_metrics import scrape, value
from queueing.tests.helpers import count_redis_round_trips
from reservations.exceptions import SeatLimitExceeded, SeatUnavailable, ShowNotBookable
from reservations.models import ReservationStatus
from reservations.services import reservation_expire_due, reservation_hold, show_cancel
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of

pytestmark = pytest.mark.django_db


def test_hold_takes_every_asked_seat_at_its_grade_price(clock):
    show = make_show()
    fan = fan_with_points()

    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-2"))

    assert reservation.status == ReservationStatus.HELD
    assert reservation.amount == 150_000 + 100_000
    assert reservation.hold_expires_at == clock.now() + timedelta(minutes=5)
    seats = ShowSeat.objects.filter(pk__in=seats_of(show, "B-1", "C-2"))
    assert {(s.status, s.held_until) for s in seats} == {(ShowSeatStatus.HELD, reservation.hold_expires_at)}


def test_hold_is_all_or_nothing_and_names_the_taken_seats(clock):
    show = make_show()
    first, second = fan_with_points(), fan_with_points()
    reservation_hold(user=first, show_id=show.pk, seat_ids=seats_of(show, "B-2"))

    with pytest.raises(SeatUnavailable) as refused:
        reservation_hold(user=second, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2", "B-3"))

    assert refused.value.extra["seats"] == [{"id": seats_of(show, "B-2")[0], "label": "B-2"}]
    statuses = dict(ShowSeat.objects.filter(show=show, row="B", number__in=[1, 2, 3]).values_list("number", "status"))
    assert statuses == {1: "AVAILABLE", 2: "HELD", 3: "AVAILABLE"}


def test_sold_seat_is_unavailable(clock):
    show = make_show()
    ShowSeat.objects.filter(pk__in=seats_of(show, "B-1")).update(status=ShowSeatStatus.SOLD)

    with pytest.raises(SeatUnavailable):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))


def test_seat_of_an_expired_hold_is_free_at_once_before_any_job_runs(clock):
    show = make_show()
    first, second = fan_with_points(), fan_with_points()
    old = reservation_hold(user=first, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))
    clock.advance(timedelta(minutes=5))

    new = reservation_hold(user=second, show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    assert new.seats.get().active
    old.refresh_from_db()
    assert old.seats.filter(active=True).count() == 1  # B-2 stays with the old hold until the job closes it
    assert reservation_expire_due() == 1
    old.refresh_from_db()
    assert old.status == ReservationStatus.EXPIRED
    assert ShowSeat.objects.get(pk=seats_of(show, "B-1")[0]).status == ShowSeatStatus.HELD
    assert ShowSeat.objects.get(pk=seats_of(show, "B-2")[0]).status == ShowSeatStatus.AVAILABLE


def test_a_hold_one_second_before_its_end_still_blocks_the_seat(clock):
    show = make_show()
    reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))

    with pytest.raises(SeatUnavailable):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))


def test_seat_limit_counts_held_and_paid_seats_across_holds(clock):
    show = make_show(seats_per_user=3)
    fan = fan_with_points()
    reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))

    with pytest.raises(SeatLimitExceeded):
        reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-3", "B-4"))
    reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-3"))
    with pytest.raises(SeatLimitExceeded):
        reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-4"))


def test_seat_limit_frees_up_when_a_hold_expires(clock):
    show = make_show(seats_per_user=2)
    fan = fan_with_points()
    reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))
    clock.advance(timedelta(minutes=6))

    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-3", "B-4"))

    assert reservation.status == ReservationStatus.HELD


def test_asking_more_seats_than_the_limit_at_once_is_refused(clock):
    show = make_show(seats_per_user=1)

    with pytest.raises(SeatLimitExceeded):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))


@pytest.mark.parametrize(
    "moment",
    ["before_opening", "at_closing", "after_start"],
)
def test_show_outside_its_booking_window_is_not_bookable(clock, moment):
    show = make_show(starts_in=timedelta(days=2))
    if moment == "before_opening":
        clock.freeze(show.booking_opens_at - timedelta(seconds=1))
    elif moment == "at_closing":
        clock.freeze(show.booking_closes_at)
    else:
        clock.freeze(show.starts_at + timedelta(hours=1))

    with pytest.raises(ShowNotBookable):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))


def test_seats_of_another_show_or_unknown_are_a_validation_error(clock):
    show, other = make_show(), make_show()

    with pytest.raises(ValidationFailed):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(other, "B-1"))
    with pytest.raises(ValidationFailed):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=[])
    with pytest.raises(ValidationFailed):
        reservation_hold(user=fan_with_points(), show_id=10**12, seat_ids=seats_of(show, "B-1"))
    assert not ShowSeat.objects.filter(show=show, status=ShowSeatStatus.HELD).exists()


def test_seat_of_an_unpriced_grade_cannot_be_held(clock):
    show = make_show(prices={"VIP": 150_000})

    with pytest.raises(SeatUnavailable):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "C-1"))


def test_with_the_catalog_memo_a_hold_of_a_taken_seat_costs_one_query(clock, settings):
    """The show comes from the catalog memo the booking guard filled (CATALOG_CACHE_SECONDS; the
    test settings turn it off): a seat already taken is refused by the one read of the seats."""
    settings.CATALOG_CACHE_SECONDS = 60
    show = make_show()
    first, second = fan_with_points(), fan_with_points()
    reservation_hold(user=first, show_id=show.pk, seat_ids=seats_of(show, "B-2"))
    taken = seats_of(show, "B-2")

    with CaptureQueriesContext(connection) as queries, pytest.raises(SeatUnavailable):
        reservation_hold(user=second, show_id=show.pk, seat_ids=taken)

    assert len(queries.captured_queries) == 1


def test_a_show_cancelled_while_the_catalog_memo_still_holds_it_is_not_held(clock, settings):
    settings.CATALOG_CACHE_SECONDS = 60
    show = make_show()
    reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))  # the memo holds it
    show_cancel(show=Show.objects.get(pk=show.pk), actor=organizer_user(organization=show.concert.organization))

    with pytest.raises(ShowNotBookable):
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "C-1"))

    assert not ShowSeat.objects.filter(pk__in=seats_of(show, "C-1"), status=ShowSeatStatus.HELD).exists()


def test_a_holds_writes_after_its_commit_take_two_redis_round_trips(clock, client):
    """The seat map's new version and the two counters go in one pipeline; the fan's session is
    extended in the waiting room's Redis (which may be a Redis Cluster) by its own script."""
    show = make_show()
    fan = fan_with_points()
    version_before = redis_client().get(seat_map_version_key(show.pk))

    with count_redis_round_trips() as round_trips:
        reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))

    assert round_trips.count == 2  # the hold itself reads no Redis
    assert redis_client().get(seat_map_version_key(show.pk)) not in (None, version_before)
    text = scrape(client)
    assert value(text, f'stagegate_holds_total{{concert="{show.concert_id}"}}') == 1
    assert value(text, f'stagegate_held_seats_total{{concert="{show.concert_id}"}}') == 2

"""Best available (concerts.selectors.best_available_seats): N free seats side by side in one row
of a grade, the row nearest the stage first and the middle of the row first."""

from datetime import timedelta

import pytest

from accounts.tests.factories import UserFactory
from concerts.models import ShowSeat
from concerts.selectors import best_available_seats
from concerts.services import venue_layout_parse
from reservations.services import reservation_hold
from reservations.tests.factories import make_show, seats_of

pytestmark = pytest.mark.django_db

ROWS = [("B", 10, "VIP"), ("C", 10, "VIP"), ("D", 12, "R")]
PRICES = {"VIP": 150_000, "R": 100_000}


@pytest.fixture
def show(clock):
    return make_show(rows=ROWS, prices=PRICES, seats_per_user=10)


def best(show, grade: str, count: int, clock) -> list[str]:
    ids = best_available_seats(show=show, grade=grade, count=count, now=clock.now())
    labels = {seat.pk: seat.label for seat in ShowSeat.objects.filter(pk__in=ids)}
    return [labels[seat_id] for seat_id in ids]


def test_the_middle_of_the_front_row_of_the_grade_comes_first(show, clock):
    assert best(show, "VIP", 2, clock) == ["B-5", "B-6"]
    assert best(show, "VIP", 3, clock) == ["B-4", "B-5", "B-6"]  # ties: the lower numbers
    assert best(show, "R", 4, clock) == ["D-5", "D-6", "D-7", "D-8"]  # only rows of the grade


def test_taken_seats_break_a_run_and_a_row_too_full_gives_way_to_the_next(show, clock):
    other = UserFactory()
    # A keeps 1-3 and 7-10 free: three together at most, none near the middle.
    reservation_hold(user=other, show_id=show.pk, seat_ids=seats_of(show, "B-4", "B-5", "B-6"))
    assert best(show, "VIP", 3, clock) == ["B-7", "B-8", "B-9"]
    assert best(show, "VIP", 4, clock) == ["B-7", "B-8", "B-9", "B-10"]
    assert best(show, "VIP", 5, clock) == ["C-3", "C-4", "C-5", "C-6", "C-7"]


def test_nothing_when_no_row_has_enough_free_seats_together(show, clock):
    other = UserFactory()
    reservation_hold(user=other, show_id=show.pk, seat_ids=seats_of(show, *[f"D-{n}" for n in (3, 6, 9, 12)]))
    assert best(show, "R", 3, clock) == []
    assert best(show, "R", 2, clock) == ["D-7", "D-8"]
    assert best(show, "R", 13, clock) == []
    assert best(show, "A", 1, clock) == []  # no such grade in the hall


def test_a_hold_that_ran_out_gives_its_seats_back(show, clock):
    other = UserFactory()
    reservation_hold(user=other, show_id=show.pk, seat_ids=seats_of(show, *[f"B-{n}" for n in range(1, 11)]))
    assert best(show, "VIP", 2, clock) == ["C-5", "C-6"]
    clock.advance(timedelta(minutes=show.concert.hold_minutes, seconds=1))
    assert best(show, "VIP", 2, clock) == ["B-5", "B-6"]


def test_the_chosen_seats_can_be_held(show, clock):
    fan = UserFactory()
    ids = best_available_seats(show=show, grade="VIP", count=4, now=clock.now())
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=ids)
    assert sorted(seat.label for seat in ShowSeat.objects.filter(reservation_seats__reservation=reservation)) == [
        "B-4", "B-5", "B-6", "B-7"
    ]  # fmt: skip


def test_seats_across_an_aisle_are_not_side_by_side(clock):
    show = make_show(rows=venue_layout_parse("B 6 VIP | 3\nC 6 VIP"), prices=PRICES, seats_per_user=10)

    # Row B's middle is across its aisle (3 | 4): four together are only in row C.
    assert best(show, "VIP", 3, clock) == ["B-1", "B-2", "B-3"]
    assert best(show, "VIP", 4, clock) == ["C-2", "C-3", "C-4", "C-5"]

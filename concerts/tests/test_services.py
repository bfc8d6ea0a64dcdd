import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import translation

from concerts.models import Concert, SeatGrade, Show, ShowGradePrice, ShowSeat, VenueSeat
from concerts.services import (
    ORGANIZER_GROUP,
    SEED_VENUES,
    month_booking_opens_at,
    month_shows_seed,
    month_weekend_dates,
    organizer_group_sync,
    show_create,
    venue_layout_generate,
    venue_layout_parse,
    venue_layout_seats,
    venue_layout_text,
)
from concerts.tests.factories import ConcertFactory, VenueFactory, make_show
from core.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db

KST = ZoneInfo("Asia/Seoul")


# --- layout ------------------------------------------------------------------------------------
def test_layout_generate_numbers_seats_per_row_in_row_order():
    venue = VenueFactory(layout=[("b", 3, "VIP"), ("C", 2, "R")])

    seats = list(VenueSeat.objects.filter(venue=venue).values_list("row", "row_index", "number", "grade"))

    assert seats == [
        ("B", 0, 1, "VIP"),
        ("B", 0, 2, "VIP"),
        ("B", 0, 3, "VIP"),
        ("C", 1, 1, "R"),
        ("C", 1, 2, "R"),
    ]


def test_layout_generate_replaces_the_layout_but_not_existing_shows_seats():
    venue = VenueFactory(layout=[("B", 3, "VIP")])
    show = make_show(concert=ConcertFactory(venue=venue), prices={"VIP": 1})

    venue_layout_generate(venue=venue, rows=[("X", 5, "A"), ("Y", 5, "A")])

    assert venue.seats.count() == 10 and set(venue.seats.values_list("row", flat=True)) == {"X", "Y"}
    assert list(show.seats.values_list("row", "number")) == [("B", 1), ("B", 2), ("B", 3)]


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [("B", 0, "VIP")],
        [("B", 1000, "VIP")],
        [("B", 3, "GOLD")],
        [("B", 3, "VIP"), ("b", 2, "R")],
        [("", 3, "VIP")],
        [("ABCDEF", 3, "VIP")],
        [("A", "3", "VIP")],
    ],
)
def test_layout_generate_rejects_bad_rows_and_keeps_the_old_layout(rows):
    venue = VenueFactory(layout=[("B", 2, "R")])

    with pytest.raises(ValidationFailed) as exc:
        venue_layout_generate(venue=venue, rows=rows)

    assert exc.value.extra["errors"]["layout"]
    assert venue.seats.count() == 2


def _layout_errors(text: str) -> list[str]:
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        venue_layout_parse(text)
    return exc.value.extra["errors"]["layout"]


def test_layout_text_gives_sections_per_seat_grades_and_aisles():
    seats = venue_layout_seats(venue_layout_parse("[1층]\nB-C 6 R 1=S 5-6=VIP | 2 4\n\n[ 2층   발코니 ]\n1 3 a"))

    assert [(s.section, s.row, s.row_index, s.number, s.grade, s.aisle_after) for s in seats] == [
        ("1층", "B", 0, 1, "S", False),
        ("1층", "B", 0, 2, "R", True),
        ("1층", "B", 0, 3, "R", False),
        ("1층", "B", 0, 4, "R", True),
        ("1층", "B", 0, 5, "VIP", False),
        ("1층", "B", 0, 6, "VIP", False),
        ("1층", "C", 1, 1, "S", False),
        ("1층", "C", 1, 2, "R", True),
        ("1층", "C", 1, 3, "R", False),
        ("1층", "C", 1, 4, "R", True),
        ("1층", "C", 1, 5, "VIP", False),
        ("1층", "C", 1, 6, "VIP", False),
        ("2층 발코니", "1", 2, 1, "A", False),
        ("2층 발코니", "1", 2, 2, "A", False),
        ("2층 발코니", "1", 2, 3, "A", False),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "[1층]\nB 10 VIP 1-2=R 9-10=R | 5\nC 10 R\n[2층]\n1 8 A 4=S | 2 6",
        "B-D 4 R\nE 4 R 1=S\nF-G 4 R\nH 5 R\n9-11 4 S\n13 4 S\nZ 2 A\nAA 2 A",
        "[Floor]\n1-2 3 R\n[Balcony]\n3-4 3 R",
    ],
)
def test_layout_text_round_trips_through_the_admins_notation(text):
    seats = venue_layout_seats(venue_layout_parse(text))

    assert venue_layout_text(seats) == text


@pytest.mark.parametrize("row", ["A", "r", "S", "VIP", "vip"])
def test_a_row_named_like_a_grade_is_refused_saying_why(row):
    [error] = _layout_errors(f"B 4 VIP\n{row} 4 S")

    assert f"{row.upper()}: a row may not be named like a grade" in error
    assert f"read as {row.upper()} seats" in error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B 4 VIP | 4", "an aisle comes after a seat of the row, not after its last one (1 to 3)"),
        ("B 4 VIP | 0", "an aisle comes after a seat of the row"),
        ("B 4 VIP 5=R", "seat 5=R names no seat of the row or no grade"),
        ("B 4 VIP 2=GOLD", "seat 2=GOLD names no seat of the row or no grade"),
        ("[1층]\nB 4 VIP\n[2층]\nB 4 S\n[1층]\nC 4 R", "the rows of section 1층 must come together"),
        ("[1층]\nB 4 VIP\nB 2 R", "1층 B: this row is named twice"),
        ("[]\nB 4 VIP", "Line 1: name the section"),
        ("[" + "x" * 21 + "]\nB 4 VIP", "a section name has at most 20 characters"),
        ("B four VIP", "Line 1: write ROW SEATS GRADE"),
        ("B 4 VIP\n[1층]\nC 4 R", "This hall has sections: put every row under one"),
        ("1-200 999 S", "A venue has at most 100,000 seats in at most 32,767 rows. (199,800)"),
        ("1-99999999999999 2 S", "A venue has at most 100,000 seats in at most 32,767 rows."),
        ("F-C 4 R", "Line 1: a range of rows goes from a letter to a later one"),
    ],
)
def test_layout_problems_are_named_clearly(text, expected):
    assert any(expected in error for error in _layout_errors(text))


def test_the_same_row_label_in_two_sections_is_two_rows():
    venue = VenueFactory(layout=venue_layout_parse("[1층]\nB 2 VIP\n[2층]\nB 2 S"))

    assert list(venue.seats.values_list("section", "row", "number", "grade")) == [
        ("1층", "B", 1, "VIP"),
        ("1층", "B", 2, "VIP"),
        ("2층", "B", 1, "S"),
        ("2층", "B", 2, "S"),
    ]


def test_a_show_copies_sections_grades_and_aisles_and_keeps_them_when_the_layout_changes(clock):
    venue = VenueFactory(layout=venue_layout_parse("[1층]\nB 3 VIP 3=R | 1"))
    show = make_show(concert=ConcertFactory(venue=venue), prices={"VIP": 2, "R": 1})

    venue_layout_generate(venue=venue, rows=venue_layout_parse("C 5 S"))

    seats = list(show.seats.values_list("section", "row", "number", "grade", "aisle_after"))
    assert seats == [("1층", "B", 1, "VIP", True), ("1층", "B", 2, "VIP", False), ("1층", "B", 3, "R", False)]
    assert [seat.label for seat in show.seats.all()] == ["1층 B-1", "1층 B-2", "1층 B-3"]


def test_the_seed_venues_keep_their_seat_counts_with_sections_and_aisles():
    counts = {}
    for name, text in SEED_VENUES.items():
        seats = venue_layout_seats(venue_layout_parse(text))
        counts[name] = len(seats)
        assert any(seat.aisle_after for seat in seats)
        assert all(seat.row not in SeatGrade.values for seat in seats)
    assert counts == {"항해 콘서트장": 50, "스파르타 콘서트장": 100, "예술의 전당 콘서트장": 1000}
    hall = venue_layout_seats(venue_layout_parse(SEED_VENUES["예술의 전당 콘서트장"]))
    assert {seat.section for seat in hall} == {"1층", "2층"} and {seat.grade for seat in hall} == set(SeatGrade.values)


# --- shows -------------------------------------------------------------------------------------
def test_show_create_copies_the_venue_layout_and_sets_prices(clock):
    show = make_show(prices={"VIP": 150_000, "R": 120_000})

    seats = list(show.seats.values_list("row", "number", "grade", "status", "held_until"))
    assert len(seats) == 7
    assert seats[0] == ("B", 1, "VIP", "AVAILABLE", None)
    assert dict(show.grade_prices.values_list("grade", "price")) == {"VIP": 150_000, "R": 120_000}
    assert show.venue == show.concert.venue
    assert show.booking_closes_at == show.starts_at


def test_show_create_needs_a_venue_with_a_layout(clock):
    concert = ConcertFactory()
    VenueSeat.objects.filter(venue=concert.venue).delete()

    with pytest.raises(ValidationFailed):
        make_show(concert=concert)

    assert not Show.objects.exists() and not ShowSeat.objects.exists()


@pytest.mark.parametrize(
    ("opens", "closes"),
    [(timedelta(days=1), timedelta(hours=1)), (timedelta(hours=1), timedelta(days=8)), (timedelta(0), timedelta(0))],
)
def test_show_create_rejects_a_booking_window_not_before_the_start(clock, opens, closes):
    now = clock.now()
    with pytest.raises(ValidationFailed):
        show_create(
            concert=ConcertFactory(),
            starts_at=now + timedelta(days=7),
            booking_opens_at=now + opens,
            booking_closes_at=now + closes,
        )
    assert not Show.objects.exists()


def test_show_create_rejects_unknown_grades_and_negative_prices(clock):
    with pytest.raises(ValidationFailed):
        make_show(prices={"GOLD": 1})
    with pytest.raises(ValidationFailed):
        make_show(prices={"VIP": -1})
    assert not Show.objects.exists()


# --- seed_month --------------------------------------------------------------------------------
def test_weekend_dates_of_a_month_with_four_weekends():
    days = month_weekend_dates(year=2026, month=12)

    assert [d.day for d in days] == [5, 6, 12, 13, 19, 20, 26, 27]
    assert all(d.weekday() in (5, 6) for d in days)


@pytest.mark.parametrize(
    ("year", "month", "days"),
    [
        (2026, 8, [1, 2, 8, 9, 15, 16, 22, 23, 29, 30]),  # 5 Saturdays and 5 Sundays
        (2026, 10, [3, 4, 10, 11, 17, 18, 24, 25, 31]),  # 5 Saturdays, 4 Sundays
        (2027, 1, [2, 3, 9, 10, 16, 17, 23, 24, 30, 31]),
    ],
)
def test_weekend_dates_of_months_with_five_weekend_days(year, month, days):
    assert [d.day for d in month_weekend_dates(year=year, month=month)] == days


@pytest.mark.parametrize(
    ("year", "month", "opens"),
    [(2026, 12, date(2026, 11, 30)), (2027, 1, date(2026, 12, 31)), (2027, 3, date(2027, 2, 28))],
)
def test_booking_opens_on_the_last_day_of_the_previous_month_at_midnight_kst(year, month, opens):
    assert month_booking_opens_at(year=year, month=month) == datetime.combine(opens, time(0, 0), tzinfo=KST)


def test_month_seed_creates_the_weekend_shows_at_19_kst_with_spec_defaults():
    concert = ConcertFactory()

    result = month_shows_seed(concert=concert, year=2026, month=12)

    assert len(result.created) == 8 and result.existing == []
    shows = list(concert.shows.order_by("starts_at"))
    assert [s.starts_at.astimezone(KST).date().day for s in shows] == [5, 6, 12, 13, 19, 20, 26, 27]
    assert {s.starts_at.astimezone(KST).time() for s in shows} == {time(19, 0)}
    assert {s.booking_opens_at for s in shows} == {datetime(2026, 11, 30, 0, 0, tzinfo=KST)}
    assert all(s.booking_closes_at == s.starts_at for s in shows)
    assert all(s.venue_id == concert.venue_id for s in shows)
    assert ShowSeat.objects.filter(show__concert=concert).count() == 8 * 7
    # SPEC default: 100,000 for every grade
    prices = ShowGradePrice.objects.filter(show__concert=concert)
    assert prices.count() == 8 * 4 and set(prices.values_list("price", flat=True)) == {100_000}


def test_month_seed_with_five_weekends_creates_ten_shows_and_is_idempotent():
    concert = ConcertFactory()

    first = month_shows_seed(concert=concert, year=2026, month=8)
    counts = (Show.objects.count(), ShowSeat.objects.count(), ShowGradePrice.objects.count())
    second = month_shows_seed(concert=concert, year=2026, month=8, prices={"VIP": 1})

    assert len(first.created) == 10
    assert second.created == [] and len(second.existing) == 10
    assert (Show.objects.count(), ShowSeat.objects.count(), ShowGradePrice.objects.count()) == counts
    assert not ShowGradePrice.objects.filter(price=1).exists()


def test_month_seed_overrides_venue_prices_and_opening(clock):
    concert = ConcertFactory()
    other = VenueFactory(layout=[("B", 4, "VIP"), ("C", 4, "A")])
    # Before December's first show (a booking window must close by the start): not the real now.
    opens = clock.freeze(datetime(2026, 11, 25, 12, 0, tzinfo=KST))

    result = month_shows_seed(
        concert=concert, year=2026, month=12, venue=other, prices={"VIP": 200_000}, booking_opens_at=opens
    )

    show = result.created[0]
    assert show.venue == other and show.seats.count() == 8
    assert show.booking_opens_at == opens
    assert dict(show.grade_prices.values_list("grade", "price")) == {
        "VIP": 200_000,
        "R": 100_000,
        "S": 100_000,
        "A": 100_000,
    }


def test_month_seed_uses_the_concerts_show_time_and_default_price():
    concert = ConcertFactory(show_time=time(18, 30), default_price=77_000)

    show = month_shows_seed(concert=concert, year=2026, month=12).created[0]

    assert show.starts_at == datetime(2026, 12, 5, 18, 30, tzinfo=KST)
    assert set(show.grade_prices.values_list("price", flat=True)) == {77_000}


# --- organizers --------------------------------------------------------------------------------
def test_organizer_group_has_catalog_rights_and_no_list_of_fans_wallets_or_ledgers():
    group = organizer_group_sync()
    organizer_group_sync()  # idempotent

    codenames = set(group.permissions.values_list("codename", flat=True))
    assert group.name == ORGANIZER_GROUP
    assert {"add_venue", "change_venue", "add_concert", "change_concert", "add_show", "change_show"} <= codenames
    assert {"add_showgradeprice", "change_showgradeprice", "delete_showgradeprice"} <= codenames
    assert {"view_showseat", "view_organization"} <= codenames
    assert not codenames & {"change_showseat", "delete_showseat", "change_user", "add_user", "delete_show"}
    assert not codenames & {"view_user", "view_wallet", "view_ledgerentry", "change_organization"}
    assert not group.permissions.filter(
        content_type__app_label__in=["auth", "authtoken", "django_celery_beat"]
    ).exists()
    assert Concert.objects.count() == 0


def test_migrate_leaves_the_organizers_group_with_its_rights_without_demo_data():
    group = Group.objects.get(name=ORGANIZER_GROUP)  # the test database was only migrated

    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"change_concert", "view_reservation", "refund_reservation"} <= codenames


@pytest.mark.django_db(transaction=True)
def test_two_month_seeds_at_once_create_each_show_once():
    concert = ConcertFactory()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def seed() -> None:
        try:
            barrier.wait()
            month_shows_seed(concert=concert, year=2026, month=12)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=seed) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Show.objects.filter(concert=concert).count() == 8
    assert ShowSeat.objects.filter(show__concert=concert).count() == 8 * 7

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from concerts.models import Concert, Show, ShowGradePrice, ShowSeat, Venue
from concerts.services import DEMO_FAN_POINTS, DEMO_ORGANIZATION, DEMO_PASSWORD, DEMO_PIN, ORGANIZER_GROUP
from concerts.tests.factories import ConcertFactory, VenueFactory

pytestmark = pytest.mark.django_db

KST = ZoneInfo("Asia/Seoul")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_venues_creates_the_three_spec_venues_once():
    run("seed_venues")
    output = run("seed_venues")

    seats = {venue.name: venue.seats.count() for venue in Venue.objects.all()}
    assert seats == {"항해 콘서트장": 50, "스파르타 콘서트장": 100, "예술의 전당 콘서트장": 1000}
    assert set(Venue.objects.get(name="항해 콘서트장").seats.values_list("grade", flat=True)) == {"VIP", "R", "S", "A"}
    assert "exists" in output and "created" not in output


def test_seed_month_by_title_then_by_id_is_idempotent():
    concert = ConcertFactory(title="월간 항해")

    first = run("seed_month", "월간 항해", "2026-12")
    counts = (Show.objects.count(), ShowSeat.objects.count(), ShowGradePrice.objects.count())
    second = run("seed_month", str(concert.pk), "2026-12")

    assert counts == (8, 8 * 7, 8 * 4)
    assert (Show.objects.count(), ShowSeat.objects.count(), ShowGradePrice.objects.count()) == counts
    assert "8 show(s) created" in first and "0 show(s) created, 8 already there" in second


def test_seed_month_options(clock):
    # Before December's first show: "--booking-opens now" must open before the shows start, which
    # the real now stops doing on 2026-12-05 at 19:00 KST.
    clock.freeze(datetime(2026, 11, 25, 12, 0, tzinfo=KST))
    concert = ConcertFactory()
    venue = VenueFactory(name="Other hall", layout=[("B", 5, "R")])

    run("seed_month", concert.title, "2026-08", "--venue", "Other hall", "--price", "r=90000", "--price", "VIP=1")
    opened_now = ConcertFactory()
    run("seed_month", str(opened_now.pk), "2026-12", "--booking-opens", "now")
    iso = ConcertFactory()
    run("seed_month", str(iso.pk), "2026-12", "--booking-opens", "2026-11-20T10:00")

    shows = Show.objects.filter(concert=concert)
    assert shows.count() == 10 and {s.venue_id for s in shows} == {venue.pk}
    assert dict(shows[0].grade_prices.values_list("grade", "price")) == {
        "VIP": 1,
        "R": 90_000,
        "S": 100_000,
        "A": 100_000,
    }
    assert {s.booking_opens_at for s in shows} == {datetime(2026, 7, 31, tzinfo=KST)}
    assert {s.booking_opens_at for s in opened_now.shows.all()} == {clock.now()}
    assert {s.booking_opens_at for s in iso.shows.all()} == {datetime(2026, 11, 20, 10, 0, tzinfo=KST)}


@pytest.mark.parametrize(
    "args",
    [
        ["no such concert", "2026-12"],
        ["{id}", "2026-13"],
        ["{id}", "december"],
        ["{id}", "2026-12", "--price", "GOLD=1"],
        ["{id}", "2026-12", "--price", "VIP=-5"],
        ["{id}", "2026-12", "--venue", "nowhere"],
        ["{id}", "2026-12", "--booking-opens", "tomorrow"],
        ["{id}", "2026-12", "--booking-opens", "2027-01-01T00:00+09:00"],  # after the first show
    ],
)
def test_seed_month_refuses_bad_input_with_a_command_error(args):
    concert = ConcertFactory()

    with pytest.raises(CommandError):
        run("seed_month", *[a.format(id=concert.pk) for a in args])

    assert not Show.objects.exists()


def test_seed_month_refuses_an_ambiguous_title():
    ConcertFactory(title="Twice")
    ConcertFactory(title="Twice")

    with pytest.raises(CommandError):
        run("seed_month", "Twice", "2026-12")


def test_seed_demo_runs_twice_and_opens_next_months_concert_now(clock):
    clock.freeze(datetime(2026, 12, 15, 12, 0, tzinfo=KST))

    first = run("seed_demo")
    counts = (Venue.objects.count(), User.objects.count(), Concert.objects.count(), Show.objects.count())
    second = run("seed_demo")

    assert (Venue.objects.count(), User.objects.count(), Concert.objects.count(), Show.objects.count()) == counts
    assert counts == (3, 4, 1, 10)  # January 2027 has 10 weekend days
    concert = Concert.objects.get()
    assert concert.venue.name == "항해 콘서트장"
    shows = list(concert.shows.all())
    assert all(s.starts_at.astimezone(KST).strftime("%Y-%m") == "2027-01" for s in shows)
    assert {s.booking_opens_at for s in shows} == {clock.now()}
    organizer = User.objects.get(phone="010-0000-0000")
    assert organizer.is_staff and not organizer.is_superuser and organizer.check_password(DEMO_PASSWORD)
    assert organizer.groups.filter(name=ORGANIZER_GROUP).exists()
    # One organization holds the demo: its venues and concert, and the organizer works for it.
    assert list(organizer.organizations.values_list("name", flat=True)) == [DEMO_ORGANIZATION]
    assert set(Venue.objects.values_list("organization__name", flat=True)) == {DEMO_ORGANIZATION}
    assert concert.organization.name == DEMO_ORGANIZATION
    for n in (1, 2, 3):
        fan = User.objects.get(phone=f"010-1000-000{n}")
        assert fan.check_password(DEMO_PASSWORD) and fan.check_pin(DEMO_PIN)
        assert fan.wallet.balance == DEMO_FAN_POINTS  # charged once, though seeded twice
        assert not fan.is_staff
    assert "010-0000-0000" in first and "created" in first and "created" not in second.replace("0 show(s) created", "")

    clock.advance(timedelta(days=31))  # a month later: the next month's concert is added
    run("seed_demo")
    assert Concert.objects.count() == 2

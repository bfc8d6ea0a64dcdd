"""A month of shows from the Concert admin: a form prefilled from the concert, a preview of the
shows, then concerts.services.month_shows_seed (the seed_month command's service)."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from concerts.models import Show
from concerts.services import show_create
from concerts.tests.factories import ConcertFactory

pytestmark = pytest.mark.django_db

KST = ZoneInfo("Asia/Seoul")


def month_form(**changes) -> dict:
    data = {"month": "2027-01", "venue": "", "booking_opens_at_0": "", "booking_opens_at_1": ""}
    data |= {f"price_{grade}": "120000" for grade in ["VIP", "R", "S", "A"]}
    return data | changes


def test_the_form_is_prefilled_from_the_concert_and_linked_from_its_page(clock, org_client):
    concert = ConcertFactory(default_price=88_000)

    change = org_client.get(f"/admin/concerts/concert/{concert.pk}/change/").content.decode()
    form = org_client.get(f"/admin/concerts/concert/{concert.pk}/month/")

    assert f"/admin/concerts/concert/{concert.pk}/month/" in change
    assert form.status_code == 200
    assert form.content.decode().count('value="88000"') == 4  # every grade at the concert's default


def test_preview_lists_every_weekend_show_and_creates_nothing(clock, org_client):
    concert = ConcertFactory(show_time=time(18, 30))

    response = org_client.post(f"/admin/concerts/concert/{concert.pk}/month/", month_form(preview="1"))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('data-testid="month-preview-row"') == 10  # January 2027: 5 Saturdays, 5 Sundays
    assert "2027-01-02" in page and "18:30" in page and "2027-01-31" in page
    assert 'name="create"' in page and not Show.objects.exists()


def test_create_after_the_preview_makes_the_shows_through_the_service(clock, org_client):
    concert = ConcertFactory()
    show_create(
        concert=concert,
        starts_at=datetime.combine(date(2027, 1, 2), concert.show_time, tzinfo=KST),
        booking_opens_at=datetime(2026, 12, 31, tzinfo=KST),
    )

    preview = org_client.post(f"/admin/concerts/concert/{concert.pk}/month/", month_form(preview="1"))
    assert "already there" in preview.content.decode() or "이미 있" in preview.content.decode()
    response = org_client.post(
        f"/admin/concerts/concert/{concert.pk}/month/", month_form(create="1", previewed="2027-01")
    )

    assert response.status_code == 302
    shows = list(concert.shows.order_by("starts_at"))
    assert len(shows) == 10
    created = shows[1]
    assert dict(created.grade_prices.values_list("grade", "price")) == dict.fromkeys(["VIP", "R", "S", "A"], 120_000)
    assert created.booking_opens_at == datetime(2026, 12, 31, tzinfo=KST)  # the month's rule
    assert created.booking_closes_at == created.starts_at


def test_create_without_a_preview_of_that_month_only_previews(clock, org_client):
    concert = ConcertFactory()

    response = org_client.post(
        f"/admin/concerts/concert/{concert.pk}/month/", month_form(create="1", previewed="2027-02")
    )

    assert response.status_code == 200 and not Show.objects.exists()
    assert 'data-testid="month-preview-row"' in response.content.decode()


def test_a_price_out_of_range_is_a_field_error(clock, org_client):
    concert = ConcertFactory()

    response = org_client.post(
        f"/admin/concerts/concert/{concert.pk}/month/", month_form(price_VIP="0", create="1", previewed="2027-01")
    )

    assert response.status_code == 200 and not Show.objects.exists()
    assert "errorlist" in response.content.decode()


def test_staff_without_show_rights_cannot_open_it(clock):
    concert = ConcertFactory()
    staff = UserFactory(is_staff=True)
    client = Client()
    client.force_login(staff)

    assert client.get(f"/admin/concerts/concert/{concert.pk}/month/").status_code in {302, 403}

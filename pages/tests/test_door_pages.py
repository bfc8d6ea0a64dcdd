"""The mobile ticket (booking number, QR and code) and the door check-in pages."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PIN
from pages.tests.helpers import text_of
from reservations.services import reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def show(clock):
    return make_show(starts_in=timedelta(days=10))


@pytest.fixture
def paid(show):
    fan = fan_with_points(1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    return fan, reservation


@pytest.fixture
def door(client):
    staff = organizer_user()
    client.force_login(staff)
    return client


def _codes_on_the_ticket_page(fan) -> list[str]:
    fan_client = Client()
    fan_client.force_login(fan)
    page = text_of(fan_client.get(reverse("pages:tickets")))
    return re.findall(r'<span class="ticket-code">([^<]+)</span>', page)


def test_each_paid_seat_shows_a_qr_code_and_the_booking_number(paid):
    fan, reservation = paid
    fan_client = Client()
    fan_client.force_login(fan)

    page = text_of(fan_client.get(reverse("pages:tickets")))

    assert f'data-testid="booking-number">SG{reservation.pk:08d}<' in page
    assert page.count('data-testid="ticket-qr"') == 2
    assert page.count("<svg") == 2
    reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=seats_of(reservation.show, "B-2"))
    assert len(_codes_on_the_ticket_page(fan)) == 1


def test_the_door_admits_a_scanned_ticket_once_and_counts_it(door, show, paid):
    fan, _ = paid
    code = _codes_on_the_ticket_page(fan)[0]
    url = reverse("pages:door-check-in", args=[show.pk])

    shows = text_of(door.get(reverse("pages:door-shows")))
    first = text_of(door.post(url, {"code": code}))
    second = text_of(door.post(url, {"code": code}))
    garbled = text_of(door.post(url, {"code": "hello"}))

    assert url in shows
    assert 'data-outcome="ADMITTED"' in first and "B-1" in first and fan.name in first
    assert "1 of 2" in first or "2매 중 1매" in first
    assert 'data-outcome="ALREADY_USED"' in second
    assert 'data-outcome="INVALID"' in garbled


def test_the_door_page_alone_may_use_the_camera(door, show):
    door_page = door.get(reverse("pages:door-check-in", args=[show.pk]))
    other_page = door.get(reverse("pages:door-shows"))

    assert "camera=(self)" in door_page["Permissions-Policy"]
    assert "camera=()" in other_page["Permissions-Policy"]


@pytest.mark.security
def test_fans_and_strangers_cannot_open_the_door_pages(client, show, paid):
    fan, _ = paid
    url = reverse("pages:door-check-in", args=[show.pk])

    anonymous = client.post(url, {"code": "1-0"})
    client.force_login(fan)
    as_fan = client.post(url, {"code": _codes_on_the_ticket_page(fan)[0]})

    assert anonymous.status_code == 302 and as_fan.status_code == 302
    assert as_fan["Location"].startswith(reverse("admin:login"))
    assert not fan.reservations.filter(seats__checked_in_at__isnull=False).exists()


def test_english_pages_show_the_english_title_and_venue_beyond_the_catalog(paid, door):
    fan, reservation = paid
    concert, venue = reservation.show.concert, reservation.show.venue
    concert.title, concert.title_en = "여름 콘서트", "Summer Concert"
    concert.save(update_fields=["title", "title_en"])
    venue.name_en = "Test Hall One"
    venue.save(update_fields=["name_en"])
    fan_client = Client()
    fan_client.force_login(fan)

    for client, url in ((fan_client, reverse("pages:tickets")), (door, reverse("pages:door-shows"))):
        client.cookies["django_language"] = "en"
        english = text_of(client.get(url))
        client.cookies["django_language"] = "ko"
        korean = text_of(client.get(url))
        assert "Summer Concert" in english and "여름 콘서트" not in english
        assert "여름 콘서트" in korean and "Summer Concert" not in korean
    fan_client.cookies["django_language"] = "en"
    assert "Test Hall One" in text_of(fan_client.get(reverse("pages:tickets")))


def test_the_header_links_door_staff_to_the_door_and_reads_no_permissions_for_a_fan(door, paid):
    fan, _ = paid
    fan_client = Client()
    fan_client.force_login(fan)

    statements: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        fan_page = text_of(fan_client.get(reverse("pages:tickets")))
    staff_page = text_of(door.get(reverse("pages:tickets")))

    door_link = f'href="{reverse("pages:door-shows")}"'
    assert door_link in staff_page and door_link not in fan_page
    # Every fan page has the header: a fan's has no permission queries (two per page before).
    assert statements and not [sql for sql in statements if "auth_permission" in sql]

"""The load test's website fans (--web-share) read the fan pages as a browser and its scripts do: the
concert page's entry, then the seat map and payment pages."""

from urllib.parse import unquote

import pytest
from django.test import Client

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from concerts.models import ShowSeat
from drills.seed import web_session_create
from loadtest import fan_pages
from points.tests.factories import funded_user
from queueing.services import queue_enter, queue_stream_ticket_caller
from reservations.tests.factories import make_show

pytestmark = pytest.mark.django_db


def test_a_seeded_website_fan_enters_with_the_concert_pages_button_and_gets_its_stream(clock):
    show = make_show(queue_active_size=1)
    queue_enter(user_id=UserFactory().pk, concert_id=show.concert_id)  # takes the only place
    fan = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["sessionid"] = web_session_create(fan)  # logged in before the on-sale

    entry_url = fan_pages.entry_url(browser.get(f"/concerts/{show.concert_id}/").content)
    entered = Client(enforce_csrf_checks=True).post(entry_url)  # the ticket is all it sends

    assert entered.status_code == 201
    place = entered.json()
    path, _, ticket = place["events_url"].partition("?ticket=")
    assert path == "/api/v1/queue-tokens/current/events"
    assert queue_stream_ticket_caller(ticket=unquote(ticket)) == (fan.pk, place["token"])
    assert place["status"] == "WAITING" and place["refresh_after_seconds"] >= 1


def test_a_logged_out_visitors_concert_page_has_no_entry(clock):
    show = make_show()

    assert fan_pages.entry_url(Client().get(f"/concerts/{show.concert_id}/").content) is None


def test_an_admitted_website_fan_books_through_the_seat_map_and_payment_pages(clock):
    show = make_show()
    fan = funded_user(1_000_000)
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["sessionid"] = web_session_create(fan)
    place = Client().post(fan_pages.entry_url(browser.get(f"/concerts/{show.concert_id}/").content)).json()
    assert place["status"] == "ACTIVE"  # a free place: admitted at once

    to_seats = browser.get(f"/concerts/{show.concert_id}/queue/", {"token": place["token"], "show": show.pk})
    seat_page = browser.get(to_seats["Location"]).content
    free = fan_pages.free_seats(seat_page)
    on_sale = ShowSeat.objects.filter(show=show, status="AVAILABLE").values_list("id", flat=True)
    assert sorted(free) == sorted(on_sale)
    held = browser.post(
        to_seats["Location"], {"csrfmiddlewaretoken": fan_pages.form_token(seat_page), "seat_ids": free[:2]}
    )
    payment_page = browser.get(held["Location"]).content
    paid = browser.post(held["Location"], {**fan_pages.payment_form(payment_page), "pin": DEFAULT_PIN})

    assert to_seats.status_code == 302 and to_seats["Location"] == f"/shows/{show.pk}/seats/"
    assert held.status_code == 302 and paid.status_code == 302
    assert ShowSeat.objects.filter(pk__in=free[:2], status="SOLD").count() == 2
    assert fan_pages.payment_form(b"<p>The hold ended.</p>") is None

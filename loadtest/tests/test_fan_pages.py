"""The load test's website fans (--web-share) read the concert page as a browser and enter.js do."""

from urllib.parse import unquote

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from drills.seed import web_session_create
from loadtest import fan_pages
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

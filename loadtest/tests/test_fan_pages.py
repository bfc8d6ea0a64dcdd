"""The load test's website fans (--web-share) read the fan pages as a browser and queue.js do."""

from urllib.parse import unquote

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from drills.seed import web_session_create
from loadtest import fan_pages
from queueing.services import queue_enter, queue_stream_ticket_caller
from reservations.tests.factories import make_show

pytestmark = pytest.mark.django_db


def test_a_seeded_website_fan_enters_through_the_form_and_finds_the_waiting_rooms_stream(clock):
    show = make_show(queue_active_size=1)
    queue_enter(user_id=UserFactory().pk, concert_id=show.concert_id)  # takes the only place
    fan = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["sessionid"] = web_session_create(fan)  # logged in before the on-sale
    concert_page = f"/concerts/{show.concert_id}/"

    form_token = fan_pages.form_token(browser.get(concert_page).content)
    entered = browser.post(concert_page + "queue/", {"csrfmiddlewaretoken": form_token})
    waiting = fan_pages.waiting_room(browser.get(entered["Location"]).content)

    assert entered.status_code == 302 and entered["Location"] == concert_page + "queue/"
    path, _, ticket = waiting["events_url"].partition("?ticket=")
    assert path == "/api/v1/queue-tokens/current/events"
    assert queue_stream_ticket_caller(ticket=unquote(ticket)) == (fan.pk, waiting["token"])
    assert waiting["refresh_after_seconds"] >= 1


def test_an_admitted_website_fans_page_has_no_stream(clock):
    show = make_show(queue_active_size=1)
    browser = Client()
    browser.force_login(UserFactory())

    admitted = browser.post(f"/concerts/{show.concert_id}/queue/", follow=True)

    assert admitted.status_code == 200 and fan_pages.waiting_room(admitted.content) is None

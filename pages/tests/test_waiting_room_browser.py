"""The waiting room page in real headless Chromium against a live server, the real PostgreSQL and
Redis: the concert page's button enters with the page's ticket and the page becomes the waiting
room (its form is the fallback); the page follows the fan's event stream with its signed ticket
and does not poll; refused its stream, it polls with its session instead. Either way it moves on
to the seat map by itself once the fan is admitted. (The live server is Django alone, which
answers the stream's path with one status per connection, as gunicorn does: the browser connects
again after the status's `retry`. Behind HAProxy the event loop holds the stream open;
queueing/tests/test_events.py.)
"""

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.tests.factories import UserFactory
from concerts.models import Show
from queueing.events import EVENTS_PATH
from queueing.selectors import queue_stats
from queueing.services import queue_enter, queue_leave, queue_promote
from reservations.tests.factories import make_show

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLL_PATH = "/api/v1/queue-tokens/current"


def wait_behind_another_fan(page: Page, live_server) -> tuple[object, object, list[str]]:
    """A logged-in fan's tab in the waiting room of a show whose one place another fan holds;
    the show, that other fan's place, and the paths the tab asks for from now on."""
    show = make_show(queue_active_size=1)
    first_fan = UserFactory()
    first = queue_enter(user_id=first_fan.pk, concert_id=show.concert_id)
    client = Client()
    client.force_login(UserFactory())
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url.removeprefix(live_server.url)))
    page.goto(f"/concerts/{show.concert_id}/")
    page.get_by_test_id("book-show").first.click()
    expect(page.get_by_test_id("queue-position")).to_have_text("1")
    return show, (first_fan, first), asked


def wait_until(page: Page, done, seconds: float = 15) -> None:
    """Let the tab run (its requests are recorded meanwhile) until done() holds."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the page did not ask for it in time"
        page.wait_for_timeout(100)


def admit_the_fan(show, first_place) -> None:
    first_fan, first = first_place
    queue_leave(user_id=first_fan.pk, token=first.token)
    queue_promote(concert_id=show.concert_id)


def test_the_waiting_page_follows_its_event_stream_and_does_not_poll(page: Page, live_server):
    show, first_place, asked = wait_behind_another_fan(page, live_server)

    # The page's first refresh (2 s) opens the stream; Django alone ends it after the status, and
    # the browser connects again after the status's `retry` (2 s), with the same ticket.
    wait_until(page, lambda: len([path for path in asked if path.startswith(EVENTS_PATH)]) >= 2)
    admit_the_fan(show, first_place)

    page.wait_for_url(re.compile(rf"/shows/{show.pk}/seats/$"), timeout=15_000)
    streams = [path for path in asked if path.startswith(EVENTS_PATH)]
    assert len(streams) >= 2 and all(path.startswith(f"{EVENTS_PATH}?ticket=") for path in streams)
    assert len(set(streams)) == 1  # the ticket of the page, each time
    assert not [path for path in asked if path.split("?")[0] == POLL_PATH]


def test_refused_its_stream_the_waiting_page_polls_with_its_session(page: Page, live_server, settings):
    settings.QUEUE_STREAM_TICKET_SECONDS = 0  # every ticket is past its time when it arrives
    show, first_place, asked = wait_behind_another_fan(page, live_server)

    wait_until(page, lambda: POLL_PATH in asked)
    admit_the_fan(show, first_place)

    page.wait_for_url(re.compile(rf"/shows/{show.pk}/seats/$"), timeout=15_000)
    assert [path for path in asked if path.startswith(EVENTS_PATH)], "the page tried its stream first"


def test_the_concert_page_enters_with_its_ticket_and_a_reload_keeps_the_place(page: Page, live_server):
    posted: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posted.append(request.url))
    show, first_place, _asked = wait_behind_another_fan(page, live_server)

    # The button entered with the page's ticket, not the form, and the page is the waiting room.
    assert len(posted) == 1 and re.search(rf"/api/v1/concerts/{show.concert_id}/queue-tokens\?ticket=", posted[0])
    expect(page).to_have_url(re.compile(rf"/concerts/{show.concert_id}/queue/\?token=[^&]+&show={show.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("대기")
    page.reload()  # the waiting page, from the server: the same place
    expect(page.get_by_test_id("queue-position")).to_have_text("1")

    page.get_by_role("button", name="대기열 나가기").click()
    expect(page).to_have_url(re.compile(rf"/concerts/{show.concert_id}/$"))
    assert queue_stats(concert_id=show.concert_id).waiting == 0


def test_the_language_switch_of_the_concert_pages_waiting_room_comes_back_to_the_place(page: Page, live_server):
    show, _first_place, _asked = wait_behind_another_fan(page, live_server)

    page.get_by_test_id("header-menu").locator("summary").click()  # a phone: the switch is in the menu
    switch = page.locator("#language-select-menu")
    switch.select_option("en")
    switch.locator("xpath=ancestor::form").get_by_role("button").click()

    expect(page).to_have_url(re.compile(rf"/concerts/{show.concert_id}/queue/\?token=[^&]+&show={show.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Waiting room")
    expect(page.get_by_test_id("queue-position")).to_have_text("1")


def test_the_concert_page_with_its_ticket_expired_enters_with_its_form(page: Page, live_server, settings):
    settings.QUEUE_ENTRY_TICKET_SECONDS = 0  # every entry ticket is past its time when it arrives
    posted: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posted.append(request.url))
    show, first_place, _asked = wait_behind_another_fan(page, live_server)

    expect(page).to_have_url(re.compile(rf"/concerts/{show.concert_id}/queue/\?show={show.pk}$"))
    assert [url.removeprefix(live_server.url).split("?")[0] for url in posted] == [
        f"/api/v1/concerts/{show.concert_id}/queue-tokens",  # refused: 401
        f"/concerts/{show.concert_id}/queue/",  # the form, with the session
    ]
    admit_the_fan(show, first_place)
    page.wait_for_url(re.compile(rf"/shows/{show.pk}/seats/$"), timeout=15_000)


def test_at_the_opening_the_concert_page_does_not_reload_and_its_button_enters(page: Page, live_server, clock):
    show = make_show(queue_active_size=1)
    Show.objects.filter(pk=show.pk).update(booking_opens_at=clock.now() + timedelta(seconds=3))
    client = Client()
    client.force_login(UserFactory())
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"/concerts/{show.concert_id}/")
    expect(page.get_by_test_id("opening-countdown")).to_be_visible()
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    clock.advance(timedelta(seconds=4))  # the server's clock passes the opening with the page's countdown
    expect(page.get_by_test_id("opening-countdown")).to_have_text("지금", timeout=6_000)
    expect(page.locator("#not-open-note")).to_be_hidden()
    page.wait_for_timeout(2_000)  # the reload, if any, came 1.5 s after zero
    assert page.evaluate("window.loadedOnce === true")

    page.get_by_test_id("enter-waiting-room").click()  # a free place: admitted at once, on to the shows
    expect(page).to_have_url(re.compile(rf"/concerts/{show.concert_id}/queue/\?token=[^&]+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("입장 차례입니다")
    assert queue_stats(concert_id=show.concert_id).active == 1

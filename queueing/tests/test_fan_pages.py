"""The fan pages' waiting room: before booking opens (PREQUEUE) a countdown, no position; the
ticket its event stream opens with."""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from accounts.tests.factories import UserFactory
from queueing.selectors import queue_stats
from queueing.services import (
    queue_enter,
    queue_enter_with_entry_ticket,
    queue_entry_ticket_caller,
    queue_entry_ticket_issue,
    queue_leave,
    queue_promote,
    queue_set_paused,
    queue_stream_ticket_caller,
)
from queueing.tests.factories import ConcertFactory, ShowFactory

pytestmark = pytest.mark.django_db


def test_the_waiting_room_page_counts_down_to_the_opening_in_the_pre_queue(client, clock):
    concert = ConcertFactory(prequeue_minutes=30)
    ShowFactory(concert=concert, booking_opens_at=clock.now() + timedelta(minutes=12, seconds=5))
    client.force_login(UserFactory())

    entered = client.post(f"/concerts/{concert.pk}/queue/")
    page = client.get(entered["Location"])

    assert entered.status_code == 302
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'data-testid="queue-countdown"\s+data-seconds="725">12:05<', html)
    assert not re.search(r'id="queue-prequeue"[^>]*hidden', html)
    assert re.search(r'id="queue-line"[^>]*hidden', html)
    assert 'data-refresh-after="120"' in html  # QUEUE_REFRESH_MAX_SECONDS, far from the opening
    assert "예매 오픈까지" in html  # "Booking opens in", in the default language


def test_once_booking_opens_the_page_shows_the_place_in_line(client, clock):
    concert = ConcertFactory(prequeue_minutes=30, abandon_after_minutes=60)
    ShowFactory(concert=concert, booking_opens_at=clock.now() + timedelta(minutes=1))
    queue_set_paused(concert_id=concert.pk, paused=True)  # everyone keeps a place in line
    for user in (UserFactory(), UserFactory()):
        client.force_login(user)
        client.post(f"/concerts/{concert.pk}/queue/")
    clock.advance(timedelta(minutes=1))
    queue_promote(concert_id=concert.pk)  # the opening tick: the pre-queue gets its places

    page = client.get(f"/concerts/{concert.pk}/queue/").content.decode()  # the second fan's page

    place = re.search(r'data-testid="queue-position"[^>]*>(\d+)<', page)
    assert place and place.group(1) in {"1", "2"}  # the draw decides which
    assert re.search(r'id="queue-prequeue"[^>]*hidden', page)
    assert not re.search(r'id="queue-line"[^>]*hidden', page)


def test_the_waiting_page_gives_its_event_stream_a_ticket_of_the_fan_and_the_token(client, clock):
    concert = ConcertFactory(queue_active_size=1)
    ShowFactory(concert=concert, booking_opens_at=clock.now() - timedelta(minutes=1))
    queue_enter(user_id=UserFactory().pk, concert_id=concert.pk)  # takes the one place
    fan = UserFactory()
    client.force_login(fan)
    client.post(f"/concerts/{concert.pk}/queue/")

    page = client.get(f"/concerts/{concert.pk}/queue/").content.decode()

    url = html.unescape(re.search(r'data-events-url="([^"]+)"', page).group(1))
    path, query = url.split("?", 1)
    token = re.search(r'data-token="([^"]+)"', page).group(1)
    assert path == "/api/v1/queue-tokens/current/events"
    assert queue_stream_ticket_caller(ticket=parse_qs(query)["ticket"][0]) == (fan.pk, token)


# -- the concert page's button: enters with the page's ticket, the waiting page takes the place over --


def _entry_url(page: str) -> str | None:
    found = re.search(r'data-enter-url="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def test_the_concert_page_gives_its_buttons_an_entry_ticket_of_the_fan_and_the_concert(client):
    concert = ConcertFactory()
    ShowFactory(concert=concert)
    fan = UserFactory()

    anonymous = client.get(f"/concerts/{concert.pk}/").content.decode()
    client.force_login(fan)
    page = client.get(f"/concerts/{concert.pk}/").content.decode()

    assert _entry_url(anonymous) is None
    path, query = _entry_url(page).split("?", 1)
    assert path == f"/api/v1/concerts/{concert.pk}/queue-tokens"
    assert queue_entry_ticket_caller(ticket=parse_qs(query)["ticket"][0], concert_id=concert.pk) == fan.pk
    # Every form that enters (a show's "Book this show", "Enter the waiting room") has the entry URL.
    entering_forms = re.findall(rf'<form method="post" action="/concerts/{concert.pk}/queue/"[^>]*>', page)
    assert entering_forms and all("data-enter-url=" in form for form in entering_forms)
    assert 'id="waiting-room"' in page and "js/enter.js" in page


def test_a_fan_in_line_is_sent_back_to_the_waiting_room_instead(client):
    concert = ConcertFactory()
    ShowFactory(concert=concert)
    client.force_login(UserFactory())
    client.post(f"/concerts/{concert.pk}/queue/")  # the form: the session keeps the place

    page = client.get(f"/concerts/{concert.pk}/").content.decode()

    assert _entry_url(page) is None
    assert f'href="/concerts/{concert.pk}/queue/"' in page


def test_the_waiting_page_takes_over_a_place_the_concert_page_entered_without_the_session(client):
    concert = ConcertFactory(queue_active_size=1)
    show = ShowFactory(concert=concert)
    first_fan = UserFactory()
    first = queue_enter(user_id=first_fan.pk, concert_id=concert.pk)  # takes the one place
    fan = UserFactory()
    client.force_login(fan)
    place = queue_enter_with_entry_ticket(
        ticket=queue_entry_ticket_issue(user_id=fan.pk, concert_id=concert.pk), concert_id=concert.pk
    ).place

    waiting = client.get(f"/concerts/{concert.pk}/queue/", {"token": place.token, "show": show.pk})
    again = client.get(f"/concerts/{concert.pk}/queue/")  # no token in the address: the session has it
    queue_leave(user_id=first_fan.pk, token=first.token)
    queue_promote(concert_id=concert.pk)
    admitted = client.get(f"/concerts/{concert.pk}/queue/", {"token": place.token, "show": show.pk})

    assert waiting.status_code == 200
    assert re.search(r'data-testid="queue-position"[^>]*>1<', waiting.content.decode())
    assert re.search(r'data-testid="queue-position"[^>]*>1<', again.content.decode())
    assert admitted.status_code == 302 and admitted["Location"] == f"/shows/{show.pk}/seats/"
    assert client.get(admitted["Location"]).status_code == 200  # the booking pages know the place


def test_the_waiting_page_takes_over_no_place_of_another_fan_and_keeps_the_fans_own(client):
    concert = ConcertFactory(queue_active_size=1)
    ShowFactory(concert=concert)
    queue_enter(user_id=UserFactory().pk, concert_id=concert.pk)  # takes the one place
    other = queue_enter(user_id=UserFactory().pk, concert_id=concert.pk)
    client.force_login(UserFactory())
    client.post(f"/concerts/{concert.pk}/queue/")  # the fan's own place, third in the room

    foreign = client.get(f"/concerts/{concert.pk}/queue/", {"token": other.token})
    own = client.get(f"/concerts/{concert.pk}/queue/")

    assert foreign.status_code == 410  # no such place of this fan's
    assert re.search(r'data-testid="queue-position"[^>]*>2<', own.content.decode())


def test_leaving_a_place_the_concert_page_entered_names_it_in_the_form(client):
    concert = ConcertFactory(queue_active_size=1)
    ShowFactory(concert=concert)
    queue_enter(user_id=UserFactory().pk, concert_id=concert.pk)
    fan = UserFactory()
    client.force_login(fan)
    place = queue_enter_with_entry_ticket(
        ticket=queue_entry_ticket_issue(user_id=fan.pk, concert_id=concert.pk), concert_id=concert.pk
    ).place

    left = client.post(f"/concerts/{concert.pk}/queue/leave/", {"token": place.token})

    assert left.status_code == 302
    assert queue_stats(concert_id=concert.pk).waiting == 0

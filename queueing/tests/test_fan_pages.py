"""The fan pages' waiting room: before booking opens (PREQUEUE) a countdown, no position; the
ticket its event stream opens with."""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from accounts.tests.factories import UserFactory
from queueing.services import queue_enter, queue_promote, queue_set_paused, queue_stream_ticket_caller
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

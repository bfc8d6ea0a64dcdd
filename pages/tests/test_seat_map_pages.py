"""The seat-map page's live snapshot (a session-authenticated JSON endpoint with ETag/304), its
layout of big halls into sections, and best available."""

import re

import pytest
from django.db import connection
from django.urls import reverse
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from concerts import seat_map
from concerts.services import venue_layout_parse
from pages.tests.helpers import admit, text_of
from queueing import selectors as queueing_selectors
from queueing import services as queueing_services
from queueing.services import queue_enter
from reservations.models import Reservation
from reservations.services import reservation_hold
from reservations.tests.factories import make_show, seats_of

pytestmark = pytest.mark.django_db

BIG_HALL = [(row, 40, "VIP") for row in "BCD"] + [(row, 40, "R") for row in "EFGHI"]


@pytest.fixture
def fan(client):
    user = UserFactory()
    client.force_login(user)
    return user


@pytest.fixture
def show(clock):
    return make_show(seats_per_user=4)


def live(client, show, etag: str | None = None):
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return client.get(reverse("pages:seat-map-snapshot", args=[show.pk]), **headers)


def statuses(response) -> dict[str, str]:
    return {seat["label"]: seat["status"] for seat in response.json()}


@pytest.mark.security
def test_the_live_seats_need_a_login_and_a_booking_session(client, show):
    response = live(client, show)
    assert response.status_code == 401 and response.json()["code"] == "NOT_AUTHENTICATED"

    client.force_login(UserFactory())  # logged in, never admitted
    response = live(client, show)
    assert response.status_code == 403 and response.json()["code"] == "QUEUE_NOT_ACTIVE"

    other = make_show()  # admitted to another concert only
    admit(client, UserFactory(), other.concert_id)
    assert live(client, show).status_code == 403

    response = client.get(reverse("pages:seat-map-snapshot", args=[999_999]))
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_the_live_seats_are_the_api_snapshot_with_its_etag_and_304(client, fan, show):
    admit(client, fan, show.concert_id)

    first = live(client, show)
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    assert first["Cache-Control"] == "private, no-cache"
    assert len(first.json()) == 20 and set(statuses(first).values()) == {"AVAILABLE"}
    api = APIClient()
    api.force_authenticate(fan)
    token = queue_enter(user_id=fan.pk, concert_id=show.concert_id).token
    from_api = api.get(f"/api/v1/shows/{show.pk}/seats", HTTP_X_QUEUE_TOKEN=token)
    assert from_api.content == first.content and from_api["ETag"] == first["ETag"]

    unchanged = live(client, show, etag=first["ETag"])
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged["ETag"] == first["ETag"]


def test_a_hold_by_another_fan_changes_the_live_seats(client, fan, show, django_capture_on_commit_callbacks):
    admit(client, fan, show.concert_id)
    before = live(client, show)

    with django_capture_on_commit_callbacks(execute=True):
        reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "B-5", "B-6"))

    after = live(client, show, etag=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert statuses(after)["B-5"] == statuses(after)["B-6"] == "HELD"
    assert statuses(after)["B-4"] == "AVAILABLE"
    assert live(client, show, etag=after["ETag"]).status_code == 304


def test_an_unreachable_redis_answers_503_to_the_live_seats(client, fan, show, monkeypatch):
    admit(client, fan, show.concert_id)
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(seat_map, "redis_client", lambda: down)
    response = live(client, show)
    assert response.status_code == 503 and response.json()["code"] == "SERVICE_UNAVAILABLE"
    assert int(response["Retry-After"]) > 0

    monkeypatch.setattr(queueing_selectors, "queue_redis", lambda: down)
    monkeypatch.setattr(queueing_services, "queue_redis", lambda: down)
    assert live(client, show).status_code == 503


def test_the_page_renders_the_live_url_and_the_poll_interval(client, fan, show, settings):
    settings.SEAT_MAP_POLL_SECONDS = 3
    admit(client, fan, show.concert_id)
    page = text_of(client.get(reverse("pages:seat-map", args=[show.pk])))
    assert f'data-live-url="{reverse("pages:seat-map-snapshot", args=[show.pk])}"' in page
    assert 'data-poll-seconds="3"' in page
    assert "<script>" not in page and "style=" not in page and " onclick=" not in page  # CSP-ready


def test_a_big_hall_gets_an_overview_and_rows_cut_into_blocks_that_fit_a_phone(client, fan, clock, settings):
    settings.SEAT_MAP_BLOCK_SEATS = 6
    show = make_show(rows=BIG_HALL, prices={"VIP": 150_000, "R": 100_000})
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    admit(client, fan, show.concert_id)

    page = text_of(client.get(reverse("pages:seat-map", args=[show.pk])))

    assert page.count('name="seat_ids"') == 319 and page.count('class="seat taken"') == 1  # every seat is there
    assert page.count('data-testid="overview-section"') == 2 * 7  # 2 grade zones x 7 blocks (6 x 6 + 4)
    assert page.count('class="seat-block"') == 8 * 7
    assert "VIP, B–D열, 1–6번" in page  # the section's name, by label and not only colour
    # The small test hall needs no overview.
    small = make_show()
    admit(client, fan, small.concert_id)
    assert 'id="seat-overview"' not in text_of(client.get(reverse("pages:seat-map", args=[small.pk])))


def test_a_hall_of_floors_names_them_and_cuts_rows_at_their_aisles(client, fan, clock, settings):
    settings.SEAT_MAP_BLOCK_SEATS = 6
    layout = venue_layout_parse("[1층]\n1 10 VIP 10=R | 3\n[2층 발코니]\n1 4 S")
    show = make_show(rows=layout, prices={"VIP": 150_000, "R": 100_000, "S": 80_000})
    admit(client, fan, show.concert_id)

    page = text_of(client.get(reverse("pages:seat-map", args=[show.pk])))

    assert re.findall(r'data-testid="hall-section">([^<]+)<', page) == ["1층", "2층 발코니"]
    # Seats 1-3, an aisle, then 4-10 cut into blocks of at most 6 (4 + 3); the balcony's row whole.
    blocks = page.split('<span class="seat-block')[1:]
    labels = [re.findall(r'<input[^>]* data-label="([^"]+)"', block) for block in blocks]
    assert list(zip([block.startswith(" aisle-after") for block in blocks], labels, strict=True)) == [
        (True, ["1층 1-1", "1층 1-2", "1층 1-3"]),
        (False, ["1층 1-4", "1층 1-5", "1층 1-6", "1층 1-7"]),
        (False, ["1층 1-8", "1층 1-9", "1층 1-10"]),
        (False, ["2층 발코니 1-1", "2층 발코니 1-2", "2층 발코니 1-3", "2층 발코니 1-4"]),
    ]
    assert 'data-label="1층 1-10" data-grade="R"' in page  # a seat of another grade in its row


def best(client, show, grade: str, count) -> tuple:
    """POST the best-available form: the answer, and the messages the page it leads to shows."""
    response = client.post(reverse("pages:seat-map-best", args=[show.pk]), {"grade": grade, "count": count})
    if response.status_code != 302 or response["Location"] != reverse("pages:seat-map", args=[show.pk]):
        return response, []
    page = client.get(response["Location"])
    return response, [str(message) for message in page.context["messages"]]


def test_best_available_holds_the_best_seats_together_and_goes_to_payment(client, fan, show):
    admit(client, fan, show.concert_id)
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "C-5"))

    response, _ = best(client, show, "R", 3)

    reservation = Reservation.objects.get(user=fan)
    assert response["Location"] == reverse("pages:payment", args=[reservation.pk])
    assert sorted(seat.show_seat.label for seat in reservation.seats.select_related("show_seat")) == [
        "C-6", "C-7", "C-8"
    ]  # fmt: skip


def test_best_available_says_why_when_it_cannot(client, fan, show):
    admit(client, fan, show.concert_id)
    seat_map = reverse("pages:seat-map", args=[show.pk])
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "B-4", "B-8"))

    response, messages = best(client, show, "VIP", 4)
    assert response["Location"] == seat_map
    assert messages == ["VIP에는 나란히 붙은 4석이 남아 있지 않습니다. 좌석 수를 줄이거나 다른 등급을 골라 보세요."]

    response, messages = best(client, show, "R", 5)  # more than the 4 a fan may have
    assert response["Location"] == seat_map
    assert "1인당 최대 4석" in messages[0]

    response, messages = best(client, show, "VIP", "many")
    assert response["Location"] == seat_map and messages == ["등급과 나란히 앉을 좌석 수를 고르세요."]
    assert not Reservation.objects.filter(user=fan).exists()


@pytest.mark.security
def test_best_available_needs_a_booking_session(client, fan, show):
    response, _ = best(client, show, "R", 2)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("pages:waiting-room", args=[show.concert_id]))
    assert not Reservation.objects.exists()


def _box(page: str, seat_id: int) -> str | None:
    """The seat's checkbox on the page (None: drawn as taken)."""
    found = re.search(rf'<input type="checkbox" name="seat_ids" value="{seat_id}"[^>]*>', page)
    return found[0] if found else None


def test_the_page_draws_the_seats_once_per_version_of_the_seat_map(
    client, fan, show, django_capture_on_commit_callbacks
):
    admit(client, fan, show.concert_id)
    b5, b6 = seats_of(show, "B-5", "B-6")
    first = text_of(client.get(reverse("pages:seat-map", args=[show.pk])))
    statements: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        again = text_of(client.get(reverse("pages:seat-map", args=[show.pk])))
    with django_capture_on_commit_callbacks(execute=True):
        reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=[b5, b6])
    after_the_hold = text_of(client.get(reverse("pages:seat-map", args=[show.pk])))

    assert _box(first, b5) and _box(again, b5)
    # Drawn already, and the legend's seats left come from the kept seat map: no read of the seats.
    assert statements and not [sql for sql in statements if '"concerts_showseat"' in sql]
    assert _box(after_the_hold, b5) is None and _box(after_the_hold, b6) is None  # a new version: drawn again


def test_a_new_version_of_the_seat_map_is_filled_into_the_kept_hall_without_drawing_it_again(
    client, fan, clock, settings, django_capture_on_commit_callbacks
):
    settings.SEAT_MAP_BLOCK_SEATS = 6
    show = make_show(rows=BIG_HALL, prices={"VIP": 150_000, "R": 100_000})
    admit(client, fan, show.concert_id)
    b1, b2 = seats_of(show, "B-1", "B-2")
    url = reverse("pages:seat-map", args=[show.pk])
    first = text_of(client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=[b1, b2])

    statements: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        after = text_of(client.get(url))

    # The first section of the overview (VIP, rows B-D, seats 1-6): 18 seats left, then 16.
    free_counts = r'data-section="1-1".*?data-free-count>(\d+)<.*?data-free-text[^>]*>(\d+)'
    assert re.search(free_counts, first, re.S).groups() == ("18", "18")
    assert re.search(free_counts, after, re.S).groups() == ("16", "16")
    assert _box(first, b1) and _box(after, b1) is None and _box(after, b2) is None
    assert after.count('class="seat taken"') == 2 and after.count('name="seat_ids"') == 318
    # The seats are read once, by the kept seat map's rebuild: the hall is not drawn again.
    assert len([sql for sql in statements if '"concerts_showseat"' in sql]) == 1


def test_a_refused_hold_shows_the_seats_taken_and_ticks_the_fans_other_choice(
    client, fan, show, django_capture_on_commit_callbacks
):
    admit(client, fan, show.concert_id)
    b4, b5 = seats_of(show, "B-4", "B-5")
    client.get(reverse("pages:seat-map", args=[show.pk]))  # the fan's map, before another fan is faster
    with django_capture_on_commit_callbacks(execute=True):
        reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=[b5])

    refused = client.post(reverse("pages:seat-map", args=[show.pk]), {"seat_ids": [b4, b5]})

    page = text_of(refused)
    assert refused.status_code == 409 and "B-5" in page
    assert _box(page, b5) is None  # taken
    assert "checked" in _box(page, b4)  # still the fan's choice
    assert sum("checked" in box for box in re.findall(r'<input type="checkbox" name="seat_ids"[^>]*>', page)) == 1

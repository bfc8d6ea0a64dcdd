from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from concerts.models import ShowSeat, ShowSeatStatus
from concerts.seat_map import show_list_for_booking
from concerts.selectors import ShowStatus, show_availability_list
from concerts.services import venue_layout_parse
from concerts.tests.factories import ConcertFactory, VenueFactory, make_show
from queueing.selectors import QueueTokenStatus
from queueing.services import queue_enter

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


class FanClient(APIClient):
    """A logged-in fan that enters the concert's waiting room (admitted at once while nobody
    waits) and sends its ACTIVE queue token with each booking read."""

    def __init__(self, user):
        super().__init__()
        self.user = user
        self.force_authenticate(user)

    def booking_get(self, path: str, concert_id: int):
        status = queue_enter(user_id=self.user.pk, concert_id=concert_id)
        assert status.status == QueueTokenStatus.ACTIVE
        return self.get(path, HTTP_X_QUEUE_TOKEN=status.token)


@pytest.fixture
def fan_api():
    return FanClient(UserFactory())


def open_anchor_show(concert):
    """A far show open for booking, so the concert's waiting room is open whatever the tested show does."""
    return make_show(concert=concert, opens_in=timedelta(days=-30), starts_in=timedelta(days=60))


def mark(show, label: str, status: str, held_until=None) -> ShowSeat:
    row, number = label.split("-")
    seat = show.seats.get(row=row, number=int(number))
    seat.status, seat.held_until = status, held_until
    seat.save(update_fields=["status", "held_until"])
    return seat


def shows_of(api, concert) -> list[dict]:
    response = api.booking_get(f"/api/v1/concerts/{concert.pk}/shows", concert.pk)
    assert response.status_code == 200, response.content
    return response.json()


def seats_of(api, show) -> list[dict]:
    response = api.booking_get(f"/api/v1/shows/{show.pk}/seats", show.concert_id)
    assert response.status_code == 200, response.content
    return response.json()


# --- availability ------------------------------------------------------------------------------
def test_remaining_seats_count_sold_and_live_holds_as_taken_and_expired_holds_as_free(clock, fan_api):
    show = make_show()  # B: 2 VIP, C: 3 R, D: 2 S; all priced
    now = clock.now()
    mark(show, "B-1", ShowSeatStatus.SOLD)
    mark(show, "C-1", ShowSeatStatus.HELD, held_until=now + timedelta(minutes=3))
    mark(show, "C-2", ShowSeatStatus.HELD, held_until=now - timedelta(seconds=1))  # expired, not yet released
    mark(show, "D-1", ShowSeatStatus.HELD, held_until=now)  # ends exactly now: free

    [body] = shows_of(fan_api, show.concert)

    assert body["status"] == "AVAILABLE"
    assert (body["total_seats"], body["remaining_seats"]) == (7, 5)
    assert body["grades"] == [
        {"grade": "VIP", "price": 150_000, "total_seats": 2, "remaining_seats": 1},
        {"grade": "R", "price": 120_000, "total_seats": 3, "remaining_seats": 2},
        {"grade": "S", "price": 100_000, "total_seats": 2, "remaining_seats": 2},
    ]
    assert body["venue"] == {"id": show.venue_id, "name": show.venue.name, "name_en": ""}

    clock.advance(timedelta(minutes=3))  # B-1's hold runs out: the seat is back at once
    [body] = shows_of(fan_api, show.concert)
    assert body["remaining_seats"] == 6 and body["grades"][1]["remaining_seats"] == 3


def test_show_is_sold_out_when_every_seat_is_held_or_sold_and_available_again_when_a_hold_expires(clock, fan_api):
    show = make_show()
    now = clock.now()
    ShowSeat.objects.filter(show=show).update(status=ShowSeatStatus.SOLD)
    mark(show, "D-2", ShowSeatStatus.HELD, held_until=now + timedelta(minutes=5))

    [body] = shows_of(fan_api, show.concert)
    assert (body["status"], body["remaining_seats"]) == ("SOLD_OUT", 0)

    clock.advance(timedelta(minutes=5))
    [body] = shows_of(fan_api, show.concert)
    assert (body["status"], body["remaining_seats"]) == ("AVAILABLE", 1)


@pytest.mark.parametrize(
    ("opens_in", "starts_in", "closes_in", "expected"),
    [
        (timedelta(hours=-1), timedelta(days=1), None, ShowStatus.AVAILABLE),
        (timedelta(seconds=1), timedelta(days=1), None, ShowStatus.CLOSED),  # not open yet
        (timedelta(0), timedelta(days=1), None, ShowStatus.AVAILABLE),  # opens exactly now
        (timedelta(days=-2), timedelta(days=1), timedelta(0), ShowStatus.CLOSED),  # closed exactly now
        (timedelta(days=-2), timedelta(days=1), timedelta(hours=-1), ShowStatus.CLOSED),  # closed before the start
    ],
)
def test_show_status_follows_the_booking_window(clock, fan_api, opens_in, starts_in, closes_in, expected):
    now = clock.now()
    kwargs = {} if closes_in is None else {"booking_closes_at": now + closes_in}
    show = make_show(opens_in=opens_in, starts_in=starts_in, **kwargs)
    open_anchor_show(show.concert)

    assert shows_of(fan_api, show.concert)[0]["id"] == show.pk
    assert shows_of(fan_api, show.concert)[0]["status"] == expected


def test_a_started_show_is_closed_even_when_seats_are_left(clock, fan_api):
    show = make_show(opens_in=timedelta(days=-1), starts_in=timedelta(hours=1))
    open_anchor_show(show.concert)
    assert shows_of(fan_api, show.concert)[0]["status"] == "AVAILABLE"

    clock.advance(timedelta(hours=1))

    body = shows_of(fan_api, show.concert)[0]
    assert body["id"] == show.pk
    assert body["status"] == "CLOSED" and body["remaining_seats"] == 7


def test_unpriced_grades_are_not_on_sale(clock, fan_api):
    show = make_show(prices={"VIP": 150_000})

    [body] = shows_of(fan_api, show.concert)
    seats = seats_of(fan_api, show)

    assert [g["grade"] for g in body["grades"]] == ["VIP"]
    assert (body["total_seats"], body["remaining_seats"]) == (2, 2)
    assert [s["label"] for s in seats] == ["B-1", "B-2"]


def test_a_show_without_any_price_is_sold_out_with_nothing_to_sell(clock, fan_api):
    show = make_show(prices={})

    [body] = shows_of(fan_api, show.concert)

    assert (body["status"], body["total_seats"], body["grades"]) == ("SOLD_OUT", 0, [])


def test_shows_list_is_ordered_and_uses_a_fixed_number_of_queries(clock, fan_api):
    concert = ConcertFactory()
    later = make_show(concert=concert, starts_in=timedelta(days=9))
    sooner = make_show(concert=concert, starts_in=timedelta(days=8))
    token = queue_enter(user_id=fan_api.user.pk, concert_id=concert.pk).token
    url = f"/api/v1/concerts/{concert.pk}/shows"
    body = fan_api.get(url, HTTP_X_QUEUE_TOKEN=token).json()
    with CaptureQueriesContext(connection) as two_shows:
        fan_api.get(url, HTTP_X_QUEUE_TOKEN=token)
    for days in range(10, 16):
        make_show(concert=concert, starts_in=timedelta(days=days))
    assert len(fan_api.get(url, HTTP_X_QUEUE_TOKEN=token).json()) == 8  # builds the new shows' seat maps
    with CaptureQueriesContext(connection) as eight_shows:
        fan_api.get(url, HTTP_X_QUEUE_TOKEN=token)

    assert [s["id"] for s in body] == [sooner.pk, later.pk]
    # the concert and its shows; remaining seats come from the kept seat maps (concerts.seat_map)
    assert len(eight_shows.captured_queries) == len(two_shows.captured_queries) == 2


def test_the_sql_count_and_the_seat_maps_agree(clock):
    show = make_show()
    now = clock.now()
    mark(show, "B-1", ShowSeatStatus.SOLD)
    mark(show, "C-1", ShowSeatStatus.HELD, held_until=now + timedelta(minutes=1))
    mark(show, "C-2", ShowSeatStatus.HELD, held_until=now - timedelta(minutes=1))

    [by_sql] = show_availability_list(shows=[show], now=now)
    [by_maps] = show_list_for_booking(concert_id=show.concert_id, now=now)

    assert (by_sql.status, by_sql.total_seats, by_sql.remaining_seats) == ("AVAILABLE", 7, 5)
    assert (by_maps.status, by_maps.grades) == (by_sql.status, by_sql.grades)


# --- seats -------------------------------------------------------------------------------------
def test_seats_list_gives_label_grade_price_and_current_status(clock, fan_api):
    show = make_show()
    now = clock.now()
    sold = mark(show, "B-1", ShowSeatStatus.SOLD)
    held = mark(show, "C-1", ShowSeatStatus.HELD, held_until=now + timedelta(minutes=1))
    expired = mark(show, "C-2", ShowSeatStatus.HELD, held_until=now - timedelta(minutes=1))

    seats = {s["label"]: s for s in seats_of(fan_api, show)}
    assert list(seats) == ["B-1", "B-2", "C-1", "C-2", "C-3", "D-1", "D-2"]
    assert seats["B-1"] == {
        "id": sold.pk,
        "label": "B-1",
        "section": "",
        "row": "B",
        "number": 1,
        "aisle_after": False,
        "grade": "VIP",
        "price": 150_000,
        "status": "SOLD",
    }
    assert seats["C-1"]["status"] == "HELD" and seats["C-1"]["id"] == held.pk
    assert seats["C-2"]["status"] == "AVAILABLE" and seats["C-2"]["id"] == expired.pk
    assert seats["D-2"]["price"] == 100_000 and seats["D-2"]["status"] == "AVAILABLE"
    # Reading never changes the rows: the expired hold is still HELD until the release job runs.
    expired.refresh_from_db()
    assert expired.status == ShowSeatStatus.HELD


# --- concerts ----------------------------------------------------------------------------------
def test_seats_list_gives_each_seats_section_row_number_and_the_aisles(clock, fan_api):
    venue = VenueFactory(layout=venue_layout_parse("[1층]\nB 4 VIP 4=R | 2\n[2층 발코니]\nB 3 S"))
    show = make_show(concert=ConcertFactory(venue=venue), prices={"VIP": 3, "R": 2, "S": 1})

    seats = seats_of(fan_api, show)

    assert [(s["label"], s["section"], s["row"], s["number"], s["grade"], s["aisle_after"]) for s in seats] == [
        ("1층 B-1", "1층", "B", 1, "VIP", False),
        ("1층 B-2", "1층", "B", 2, "VIP", True),
        ("1층 B-3", "1층", "B", 3, "VIP", False),
        ("1층 B-4", "1층", "B", 4, "R", False),
        ("2층 발코니 B-1", "2층 발코니", "B", 1, "S", False),
        ("2층 발코니 B-2", "2층 발코니", "B", 2, "S", False),
        ("2층 발코니 B-3", "2층 발코니", "B", 3, "S", False),
    ]
    assert {s["price"] for s in seats if s["grade"] == "R"} == {2}


def test_concert_list_is_public_with_venue_and_booking_window(clock, api):
    concert = ConcertFactory(title="봄 콘서트")
    first = make_show(concert=concert, opens_in=timedelta(days=-3), starts_in=timedelta(days=5))
    last = make_show(concert=concert, opens_in=timedelta(days=-1), starts_in=timedelta(days=9))
    empty = ConcertFactory(title="No shows yet")

    response = api.get("/api/v1/concerts")

    assert response.status_code == 200
    body = {c["id"]: c for c in response.json()}
    mine = body[concert.pk]
    assert mine["title"] == "봄 콘서트" and mine["venue"] == {
        "id": concert.venue_id,
        "name": concert.venue.name,
        "name_en": "",
    }
    assert mine["booking_opens_at"] == api_time(first.booking_opens_at)
    assert mine["booking_closes_at"] == api_time(last.booking_closes_at)
    assert mine["shows_count"] == 2 and mine["seats_per_user"] == 4 and mine["hold_minutes"] == 5
    assert body[empty.pk]["booking_opens_at"] is None and body[empty.pk]["shows_count"] == 0


def api_time(value) -> str:
    from rest_framework.fields import DateTimeField

    return DateTimeField().to_representation(value)


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/concerts/999999/shows",
        "/api/v1/shows/999999/seats",
        "/api/v1/concerts/abc/shows",
        "/api/v1/shows/-1/seats",
        "/api/v1/shows/1.5/seats",
        "/api/v1/concerts/99999999999999999999999999/shows",
        "/api/v1/shows/99999999999999999999999999/seats",
        "/api/v1/concerts/",
    ],
)
def test_unknown_or_malformed_ids_are_404_json(fan_api, path):
    response = fan_api.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


BOOKING_PATHS = ["/api/v1/concerts/{concert}/shows", "/api/v1/shows/{show}/seats"]


@pytest.mark.parametrize("path", BOOKING_PATHS)
def test_booking_reads_need_login(clock, api, path):
    show = make_show()

    response = api.get(path.format(concert=show.concert_id, show=show.pk))

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


@pytest.mark.parametrize("path", BOOKING_PATHS)
def test_booking_reads_need_an_active_token_of_that_concert(clock, fan_api, path):
    show = make_show()
    other = make_show()
    other_token = queue_enter(user_id=fan_api.user.pk, concert_id=other.concert_id).token
    url = path.format(concert=show.concert_id, show=show.pk)

    without = fan_api.get(url)
    wrong_concert = fan_api.get(url, HTTP_X_QUEUE_TOKEN=other_token)

    assert without.status_code == wrong_concert.status_code == 403
    assert without.json()["code"] == wrong_concert.json()["code"] == "QUEUE_NOT_ACTIVE"
    assert (
        fan_api.get(path.format(concert=other.concert_id, show=other.pk), HTTP_X_QUEUE_TOKEN=other_token).status_code
        == 200
    )


def test_a_bad_token_is_401_even_on_the_public_list(api):
    api.credentials(HTTP_AUTHORIZATION="Token nope")

    response = api.get("/api/v1/concerts")

    assert response.status_code == 401 and response.json()["code"] == "NOT_AUTHENTICATED"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_catalog_is_read_only(fan_api, method):
    response = getattr(fan_api, method)("/api/v1/concerts", {}, format="json")

    assert response.status_code == 405 and response.json()["code"] == "METHOD_NOT_ALLOWED"

"""The /reservations endpoints through HTTP, with a real queue session in Redis."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import user_api_key_issue
from accounts.tests.factories import DEFAULT_PIN
from concerts.models import Concert
from points.models import LedgerEntry
from queueing.selectors import concert_queue_policy_cache_clear
from queueing.services import queue_enter
from queueing.tests.helpers import count_redis_round_trips, redis_restart
from reservations.services import reservation_hold, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of
from reservations.tickets import ticket_check_in

pytestmark = pytest.mark.django_db


def admitted_client(fan, concert_id) -> APIClient:
    """An API client logged in as the fan, with an ACTIVE queue token of the concert."""
    status = queue_enter(user_id=fan.pk, concert_id=concert_id)
    assert status.status.value == "ACTIVE"
    api = APIClient()
    api.force_authenticate(fan)
    api.credentials(HTTP_X_QUEUE_TOKEN=status.token)
    return api


def queue_answer(api: APIClient):
    """Where the client's queue token stands: GET /queue-tokens/current (404 once it is gone)."""
    return api.get("/api/v1/queue-tokens/current")


def queue_active(api: APIClient) -> bool:
    response = queue_answer(api)
    return response.status_code == 200 and response.json()["status"] == "ACTIVE"


@pytest.fixture
def show(clock):
    return make_show(starts_in=timedelta(days=10))


@pytest.fixture
def fan():
    return fan_with_points(1_000_000)


def hold(api, show, *labels):
    return api.post("/api/v1/reservations", {"show_id": show.pk, "seat_ids": seats_of(show, *labels)})


def test_hold_answers_the_reservation_with_its_countdown(show, fan, django_capture_on_commit_callbacks):
    api = admitted_client(fan, show.concert_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = hold(api, show, "B-1", "C-2")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "HELD"
    assert body["amount"] == 250_000
    assert body["hold_seconds_left"] == 300
    assert [(s["label"], s["grade"], s["price"]) for s in body["seats"]] == [
        ("B-1", "VIP", 150_000),
        ("C-2", "R", 100_000),
    ]
    assert body["hold_expires_at"].endswith("+09:00")
    # The hold keeps the fan's queue session alive until it ends.
    assert datetime.fromisoformat(
        queue_answer(api).json()["active_until"]
    ) >= show.concert.shows.get().starts_at - timedelta(days=10) + timedelta(minutes=5) - timedelta(seconds=1)


def test_the_hold_answers_the_reservation_as_reading_it_again_does(show, fan, django_capture_on_commit_callbacks):
    api = admitted_client(fan, show.concert_id)

    with django_capture_on_commit_callbacks(execute=True):  # its after-commit work done before the read
        made = hold(api, show, "C-2", "B-10", "B-2")  # asked out of the map's order

    assert made.status_code == 201
    assert [seat["label"] for seat in made.json()["seats"]] == ["B-2", "B-10", "C-2"]
    assert made.json() == api.get(f"/api/v1/reservations/{made.json()['id']}").json()


def test_hold_needs_login_and_an_active_queue_token(show, fan):
    anonymous = APIClient()
    no_token = APIClient()
    no_token.force_authenticate(fan)

    assert hold(anonymous, show, "B-1").json()["code"] == "NOT_AUTHENTICATED"
    response = hold(no_token, show, "B-1")
    assert response.status_code == 403
    assert response.json()["code"] == "QUEUE_NOT_ACTIVE"


def test_another_fans_queue_token_does_not_open_the_booking(show, fan):
    other = fan_with_points()
    token = queue_enter(user_id=other.pk, concert_id=show.concert_id).token
    api = APIClient()
    api.force_authenticate(fan)
    api.credentials(HTTP_X_QUEUE_TOKEN=token)

    assert hold(api, show, "B-1").status_code == 403


@pytest.mark.parametrize(
    ("code", "status", "prepare"),
    [
        ("SEAT_UNAVAILABLE", 409, "taken"),
        ("SEAT_LIMIT_EXCEEDED", 409, "limit"),
    ],
)
def test_hold_refusals(show, fan, code, status, prepare):
    api = admitted_client(fan, show.concert_id)
    if prepare == "taken":
        reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
        labels = ["B-1", "B-2"]
    else:
        labels = ["B-1", "B-2", "B-3", "B-4", "B-5"]

    response = hold(api, show, *labels)

    assert response.status_code == status
    assert response.json()["code"] == code
    if prepare == "taken":
        assert response.json()["seats"] == [{"id": seats_of(show, "B-1")[0], "label": "B-1"}]


def test_hold_on_a_closed_show_is_show_not_bookable(show, fan, clock):
    api = admitted_client(fan, show.concert_id)
    show.booking_closes_at = clock.now()
    show.save(update_fields=["booking_closes_at"])

    response = hold(api, show, "B-1")

    assert (response.status_code, response.json()["code"]) in {(409, "SHOW_NOT_BOOKABLE"), (403, "QUEUE_NOT_ACTIVE")}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"show_id": "x", "seat_ids": [1]},
        {"show_id": 1, "seat_ids": "1,2"},
        {"show_id": 1, "seat_ids": []},
        {"show_id": 10**30, "seat_ids": [1]},
        {"show_id": 1, "seat_ids": [10**30]},
        {"show_id": 1.5, "seat_ids": [1]},
        {"show_id": 999_999_999, "seat_ids": [1]},
        [],
    ],
)
def test_malformed_hold_is_a_validation_error(show, fan, body):
    api = admitted_client(fan, show.concert_id)

    response = api.post("/api/v1/reservations", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_pay_through_the_api_and_leave_the_queue(show, fan, django_capture_on_commit_callbacks):
    api = admitted_client(fan, show.concert_id)
    reservation_id = hold(api, show, "B-1").json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN})

    assert response.status_code == 200
    assert response.json() == {
        "reservation_id": reservation_id,
        "status": "CONFIRMED",
        "paid_amount": 150_000,
        "balance": 850_000,
    }
    assert not queue_active(api)
    # Paid and out of the queue: a second payment is refused by what happened, not by the queue.
    again = api.post(f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN})
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_PAID")


def test_a_paid_reservation_answers_its_booking_number_and_ticket_codes(show, fan):
    api = admitted_client(fan, show.concert_id)
    held = hold(api, show, "B-1", "B-2").json()
    assert held["booking_number"] == f"SG{held['id']:08d}"
    assert [seat["ticket_code"] for seat in held["seats"]] == [None, None]  # not paid yet
    api.post(f"/api/v1/reservations/{held['id']}/payment", {"pin": DEFAULT_PIN})
    reservation_refund(actor=fan, reservation_id=held["id"], seat_ids=seats_of(show, "B-2"))

    seats = api.get(f"/api/v1/reservations/{held['id']}").json()["seats"]

    door = organizer_user()
    a1, a2 = seats
    assert a2["ticket_code"] is None and a1["checked_in_at"] is None
    assert ticket_check_in(code=a1["ticket_code"], show=show, actor=door).admitted
    assert api.get(f"/api/v1/reservations/{held['id']}").json()["seats"][0]["checked_in_at"] is not None


def test_payment_idempotency_key_replays_the_first_answer(show, fan):
    api = admitted_client(fan, show.concert_id)
    reservation_id = hold(api, show, "B-1").json()["id"]
    url = f"/api/v1/reservations/{reservation_id}/payment"

    first = api.post(url, {"pin": DEFAULT_PIN}, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = api.post(url, {"pin": DEFAULT_PIN}, HTTP_IDEMPOTENCY_KEY="pay-1")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).count() == 1
    too_long = api.post(url, {"pin": DEFAULT_PIN}, HTTP_IDEMPOTENCY_KEY="k" * 101)
    assert too_long.json()["code"] == "VALIDATION_ERROR"


def test_wrong_pin_and_low_balance_answers_carry_attempts_left(show, django_capture_on_commit_callbacks):
    poor = fan_with_points(100_000)
    api = admitted_client(poor, show.concert_id)
    reservation_id = hold(api, show, "B-1").json()["id"]
    url = f"/api/v1/reservations/{reservation_id}/payment"

    wrong = api.post(url, {"pin": "999999"})
    low = api.post(url, {"pin": DEFAULT_PIN})

    assert (wrong.status_code, wrong.json()["code"], wrong.json()["attempts_left"]) == (422, "WRONG_PIN", 4)
    assert (low.status_code, low.json()["code"], low.json()["attempts_left"]) == (402, "INSUFFICIENT_BALANCE", 4)
    assert low.json()["missing"] == 50_000  # a short balance is not an attempt
    for _ in range(3):
        api.post(url, {"pin": "999999"})
    with django_capture_on_commit_callbacks(execute=True):
        fifth = api.post(url, {"pin": "999999"})
    assert (fifth.status_code, fifth.json()["code"], fifth.json()["attempts_left"]) == (
        422,
        "PAYMENT_ATTEMPTS_EXCEEDED",
        0,
    )
    assert not queue_active(api)
    assert api.get(f"/api/v1/reservations/{reservation_id}").json()["status"] == "RELEASED"


def test_payment_after_the_hold_ended_is_410_even_out_of_the_queue(
    show, fan, clock, django_capture_on_commit_callbacks
):
    api = admitted_client(fan, show.concert_id)
    reservation_id = hold(api, show, "B-1").json()["id"]
    clock.advance(timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN})

    assert (response.status_code, response.json()["code"]) == (410, "HOLD_EXPIRED")
    assert not queue_active(api)
    again = api.post(f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN})
    assert (again.status_code, again.json()["code"]) == (410, "HOLD_EXPIRED")


@pytest.mark.parametrize("body", [{}, {"pin": None}, {"pin": 123456789}, {"pin": ["1"]}, "x"])
def test_malformed_payment_is_a_validation_error(show, fan, body):
    api = admitted_client(fan, show.concert_id)
    reservation_id = hold(api, show, "B-1").json()["id"]

    response = api.post(f"/api/v1/reservations/{reservation_id}/payment", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_reservations_are_private_to_their_owner(show, fan):
    api = admitted_client(fan, show.concert_id)
    reservation_id = hold(api, show, "B-1").json()["id"]
    other = APIClient()
    other.force_authenticate(fan_with_points())

    assert other.get("/api/v1/reservations").json()["results"] == []
    for method, url, body in [
        ("get", f"/api/v1/reservations/{reservation_id}", None),
        ("post", f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN}),
        ("post", f"/api/v1/reservations/{reservation_id}/refund", {}),
    ]:
        response = getattr(other, method)(url, body)
        assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND"), url
    assert [r["id"] for r in api.get("/api/v1/reservations").json()["results"]] == [reservation_id]


@pytest.mark.parametrize("reservation_id", ["999999999", "99999999999999999999999999"])
def test_unknown_reservation_is_404(fan, reservation_id):
    api = APIClient()
    api.force_authenticate(fan)

    for url in [f"/api/v1/reservations/{reservation_id}", f"/api/v1/reservations/{reservation_id}/refund"]:
        response = api.get(url) if url.endswith(reservation_id) else api.post(url, {})
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"


def test_refund_through_the_api(show, fan, clock):
    api = admitted_client(fan, show.concert_id)
    reservation_id = hold(api, show, "B-1", "C-1").json()["id"]
    api.post(f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN})
    url = f"/api/v1/reservations/{reservation_id}/refund"

    one = api.post(url, {"seat_ids": seats_of(show, "C-1")})
    rest = api.post(url, {})
    twice = api.post(url, {})

    assert one.json() == {
        "reservation_id": reservation_id,
        "status": "CONFIRMED",
        "refunded_amount": 100_000,
        "balance": 850_000,
    }
    assert rest.json()["status"] == "REFUNDED" and rest.json()["balance"] == 1_000_000
    assert (twice.status_code, twice.json()["code"]) == (409, "ALREADY_REFUNDED")
    detail = api.get(f"/api/v1/reservations/{reservation_id}").json()
    assert [s["status"] for s in detail["seats"]] == ["REFUNDED", "REFUNDED"]


def test_refund_after_the_deadline_is_refused(show, fan, clock):
    api = admitted_client(fan, show.concert_id)
    reservation_id = hold(api, show, "B-1").json()["id"]
    api.post(f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN})
    clock.freeze(show.starts_at - timedelta(days=3) + timedelta(seconds=1))

    response = api.post(f"/api/v1/reservations/{reservation_id}/refund", {})

    assert (response.status_code, response.json()["code"]) == (409, "REFUND_WINDOW_CLOSED")


def test_a_live_hold_is_paid_after_a_redis_restart_emptied_the_queue(show, fan, django_capture_on_commit_callbacks):
    """Holds live in PostgreSQL: a fan holding seats when Redis restarts pays them, with the old
    token or after entering again (then waiting), instead of losing them behind everyone."""
    api = admitted_client(fan, show.concert_id)
    first = hold(api, show, "B-1").json()["id"]
    second = hold(api, show, "B-2").json()["id"]
    redis_restart()

    assert queue_answer(api).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        paid = api.post(f"/api/v1/reservations/{first}/payment", {"pin": DEFAULT_PIN})
    assert (paid.status_code, paid.json()["status"]) == (200, "CONFIRMED")

    # Entered again behind someone: still WAITING, and the other live hold is still payable.
    queue_enter(user_id=fan_with_points(0).pk, concert_id=show.concert_id)
    Concert.objects.filter(pk=show.concert_id).update(queue_active_size=1)
    concert_queue_policy_cache_clear()
    again = queue_enter(user_id=fan.pk, concert_id=show.concert_id)
    assert again.status.value == "WAITING"
    api.credentials(HTTP_X_QUEUE_TOKEN=again.token)
    paid = api.post(f"/api/v1/reservations/{second}/payment", {"pin": DEFAULT_PIN})
    assert (paid.status_code, paid.json()["status"]) == (200, "CONFIRMED")


def test_without_a_live_hold_the_queue_still_decides_after_a_restart(show, fan):
    api = admitted_client(fan, show.concert_id)
    reservation_id = hold(api, show, "B-1").json()["id"]
    redis_restart()

    refused = hold(api, show, "B-2")
    assert (refused.status_code, refused.json()["code"]) == (403, "QUEUE_NOT_ACTIVE")
    assert api.get(f"/api/v1/concerts/{show.concert_id}/shows").status_code == 403
    # Another fan cannot pay it either: the reservation is not theirs.
    other = APIClient()
    other.force_authenticate(fan_with_points(1_000_000))
    assert other.post(f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN}).status_code == 404


def test_an_admitted_fan_paying_a_reservation_not_theirs_gets_404_and_nothing_moves(
    show, fan, django_capture_on_commit_callbacks
):
    """With the key and an ACTIVE token the guard reads no reservation (it would let any of the
    fan's through): the payment service itself answers 404 for another fan's hold and for none."""
    other = fan_with_points(1_000_000)
    theirs = reservation_hold(user=other, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    with django_capture_on_commit_callbacks(execute=True):
        key = user_api_key_issue(user=fan)
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Token {key}",
        HTTP_X_QUEUE_TOKEN=queue_enter(user_id=fan.pk, concert_id=show.concert_id).token,
    )
    balance = api.get("/api/v1/wallet").json()["balance"]

    for reservation_id in (theirs.pk, theirs.pk + 1000):
        answer = api.post(f"/api/v1/reservations/{reservation_id}/payment", {"pin": DEFAULT_PIN})
        assert (answer.status_code, answer.json()["code"]) == (404, "NOT_FOUND")

    theirs.refresh_from_db()
    assert theirs.status == "HELD"
    assert api.get("/api/v1/wallet").json()["balance"] == balance
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).exists()


def test_a_payment_with_an_api_key_reads_the_key_and_the_token_in_one_round_trip(
    show, fan, django_capture_on_commit_callbacks
):
    """As for a hold: the key from its cache entry and the token's place in one pipeline, which the
    guard then uses; no query of the key's row. Then the PIN's count, the after-commit writes and
    the fan's leaving of the room: four round trips in all (Celery's broker is in-process here)."""
    with django_capture_on_commit_callbacks(execute=True):
        key = user_api_key_issue(user=fan)
    status = queue_enter(user_id=fan.pk, concert_id=show.concert_id)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_QUEUE_TOKEN=status.token)
    first, second = hold(api, show, "B-1").json()["id"], hold(api, show, "B-2").json()["id"]
    api.post(f"/api/v1/reservations/{first}/payment", {"pin": DEFAULT_PIN})  # (loads the PIN's script)

    with CaptureQueriesContext(connection) as queries, count_redis_round_trips() as round_trips:
        response = api.post(f"/api/v1/reservations/{second}/payment", {"pin": DEFAULT_PIN})

    assert response.status_code == 200
    assert not [query["sql"] for query in queries.captured_queries if "authtoken_token" in query["sql"]]
    assert round_trips.count == 4

"""A fan can never read or change another fan's wallet, queue token or reservation, through any
endpoint. Every call below is made by Bob with his own valid credentials, aimed at Alice's things."""

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PIN
from points.models import LedgerEntry
from queueing.services import queue_enter
from queueing.tests.helpers import token_active
from reservations.models import Reservation
from reservations.services import reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


def client_for(user, queue_token: str | None = None) -> APIClient:
    api = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}
    if queue_token:
        headers["HTTP_X_QUEUE_TOKEN"] = queue_token
    api.credentials(**headers)
    return api


@pytest.fixture
def world(clock):
    """Alice, admitted, holds B-1 and has paid for B-2; built only through the services, with their
    on_commit work run (root conftest): she is still admitted because her hold of B-1 is live."""
    show = make_show(starts_in=timedelta(days=10))
    alice, bob = fan_with_points(500_000), fan_with_points(10_000)
    alice_token = queue_enter(user_id=alice.pk, concert_id=show.concert_id).token
    held = reservation_hold(user=alice, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    paid = reservation_hold(user=alice, show_id=show.pk, seat_ids=seats_of(show, "B-2"))
    reservation_pay(user=alice, reservation_id=paid.pk, pin=DEFAULT_PIN)
    assert token_active(user_id=alice.pk, token=alice_token)
    return show, alice, bob, alice_token, held, paid


def test_wallet_endpoints_only_ever_show_the_callers_own(world):
    _, alice, bob, *_ = world
    api = client_for(bob)

    assert api.get("/api/v1/wallet").json() == {"balance": 10_000}
    entries = api.get("/api/v1/wallet/transactions").json()["results"]
    assert {e["id"] for e in entries} == set(LedgerEntry.objects.filter(wallet__user=bob).values_list("pk", flat=True))
    api.post("/api/v1/wallet/withdrawals", {"amount": 10_000})
    alice.wallet.refresh_from_db()
    assert alice.wallet.balance == 500_000 - 150_000


def test_another_fans_queue_token_is_not_found_and_cannot_be_left(world):
    show, alice, bob, alice_token, *_ = world
    api = client_for(bob, queue_token=alice_token)

    assert (
        api.get("/api/v1/queue-tokens/current").status_code,
        api.delete("/api/v1/queue-tokens/current").status_code,
    ) == (
        404,
        404,
    )
    assert token_active(user_id=alice.pk, token=alice_token)
    # Nor does it open the booking endpoints for Bob.
    for url in [f"/api/v1/concerts/{show.concert_id}/shows", f"/api/v1/shows/{show.pk}/seats"]:
        assert api.get(url).json()["code"] == "QUEUE_NOT_ACTIVE"
    response = api.post("/api/v1/reservations", {"show_id": show.pk, "seat_ids": seats_of(show, "B-3")})
    assert response.json()["code"] == "QUEUE_NOT_ACTIVE"


def test_another_fans_reservations_do_not_exist_for_the_caller(world):
    show, alice, bob, alice_token, held, paid = world
    api = client_for(bob, queue_token=alice_token)

    assert api.get("/api/v1/reservations").json()["results"] == []
    for reservation in (held, paid):
        assert api.get(f"/api/v1/reservations/{reservation.pk}").status_code == 404
        assert api.post(f"/api/v1/reservations/{reservation.pk}/payment", {"pin": DEFAULT_PIN}).status_code == 404
        assert api.post(f"/api/v1/reservations/{reservation.pk}/refund", {}).status_code == 404
    assert dict(Reservation.objects.filter(user=alice).values_list("pk", "status")) == {
        held.pk: "HELD",
        paid.pk: "CONFIRMED",
    }

"""What holds, payments, expiry, releases and refunds do to the fan's waiting-room admission and to
the seat map's version, once they commit (the tests' durable blocks run their on_commit work: see
the root conftest).

A fan may hold several reservations for a concert at once; paying, releasing or losing one ends
their admission only when none of their holds for that concert is left live (SPEC, holds).
"""

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PIN
from core.redis import redis_client, redis_key
from queueing.selectors import QueueTokenStatus
from queueing.services import queue_enter
from queueing.tests.helpers import token_active
from reservations.exceptions import PaymentAttemptsExceeded, WrongPin
from reservations.models import ReservationStatus
from reservations.services import reservation_expire_due, reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def show(clock):
    return make_show(queue_active_size=1)


def enter(user, show) -> QueueTokenStatus:
    """The fan enters the concert's room; the fan object keeps the token (as a client would)."""
    current = queue_enter(user_id=user.pk, concert_id=show.concert_id)
    user.queue_token = current.token
    return current.status


@pytest.fixture
def fan(show):
    """An admitted fan with 1,000,000 points."""
    fan = fan_with_points(1_000_000)
    assert enter(fan, show) is QueueTokenStatus.ACTIVE
    return fan


@pytest.fixture
def next_fan(show, fan):
    """A fan waiting behind `fan` (the room admits one at a time)."""
    waiting = fan_with_points(0)
    assert enter(waiting, show) is QueueTokenStatus.WAITING
    return waiting


def admitted(user) -> bool:
    """Whether the fan's token (from entering) is ACTIVE, as the booking guard sees it."""
    return token_active(user_id=user.pk, token=user.queue_token)


def seat_map_version(show) -> bytes | None:
    return redis_client().get(redis_key("seatmap", show.pk, "version"))


def two_holds(fan, show):
    first = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))
    second = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-3", "B-4"))
    return first, second


def test_paying_one_of_two_holds_keeps_the_fan_admitted_to_pay_the_other(show, fan, next_fan):
    first, second = two_holds(fan, show)

    reservation_pay(user=fan, reservation_id=first.pk, pin=DEFAULT_PIN)

    assert admitted(fan)
    assert not admitted(next_fan)
    reservation_pay(user=fan, reservation_id=second.pk, pin=DEFAULT_PIN)
    assert not admitted(fan)
    assert admitted(next_fan)  # the freed place goes to the next fan at once


def test_paying_the_first_hold_then_the_second_through_the_api(show, fan):
    first, second = two_holds(fan, show)
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=fan).key}",
        HTTP_X_QUEUE_TOKEN=fan.queue_token,
    )

    for reservation in (first, second):
        response = api.post(f"/api/v1/reservations/{reservation.pk}/payment", {"pin": DEFAULT_PIN}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "CONFIRMED"


def test_one_hold_expiring_keeps_the_fan_admitted_while_another_is_live(show, fan, next_fan, clock):
    first = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    clock.advance(timedelta(minutes=2))
    second = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-2"))
    clock.advance(timedelta(minutes=3))

    assert reservation_expire_due() == 1

    first.refresh_from_db()
    assert first.status == ReservationStatus.EXPIRED
    assert admitted(fan)
    assert reservation_pay(user=fan, reservation_id=second.pk, pin=DEFAULT_PIN).status == "CONFIRMED"
    assert not admitted(fan)
    assert admitted(next_fan)


def test_the_last_live_hold_expiring_ends_the_admission(show, fan, clock):
    reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    clock.advance(timedelta(minutes=2))
    reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-2"))
    clock.advance(timedelta(minutes=3))
    reservation_expire_due()
    assert admitted(fan)

    clock.advance(timedelta(minutes=2))
    assert reservation_expire_due() == 1

    assert not admitted(fan)


def test_one_hold_released_after_failed_payments_keeps_the_fan_admitted_for_the_other(show, fan, next_fan):
    first, second = two_holds(fan, show)
    for _ in range(4):
        with pytest.raises(WrongPin):
            reservation_pay(user=fan, reservation_id=first.pk, pin="000000")
    with pytest.raises(PaymentAttemptsExceeded):
        reservation_pay(user=fan, reservation_id=first.pk, pin="000000")

    assert admitted(fan)
    assert reservation_pay(user=fan, reservation_id=second.pk, pin=DEFAULT_PIN).status == "CONFIRMED"
    assert not admitted(fan)
    assert admitted(next_fan)


def test_a_single_hold_paid_expired_or_released_ends_the_admission(clock):
    show = make_show()
    paying, expiring, releasing = (fan_with_points() for _ in range(3))
    for fan in (paying, expiring, releasing):
        enter(fan, show)
    paid = reservation_hold(user=paying, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    reservation_hold(user=expiring, show_id=show.pk, seat_ids=seats_of(show, "B-2"))
    released = reservation_hold(user=releasing, show_id=show.pk, seat_ids=seats_of(show, "B-3"))

    reservation_pay(user=paying, reservation_id=paid.pk, pin=DEFAULT_PIN)
    for _ in range(5):
        with pytest.raises((WrongPin, PaymentAttemptsExceeded)):
            reservation_pay(user=releasing, reservation_id=released.pk, pin="000000")
    clock.advance(timedelta(minutes=5))
    reservation_expire_due()

    assert [admitted(fan) for fan in (paying, expiring, releasing)] == [False, False, False]


def test_a_hold_extends_the_admitted_session_to_its_end(show, fan, clock):
    clock.advance(timedelta(minutes=18))  # two minutes of the 20-minute session left

    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    clock.advance(timedelta(minutes=4))
    assert admitted(fan)
    assert reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN).status == "CONFIRMED"


def test_a_refund_leaves_the_queue_alone_and_changes_the_seat_map(show, fan):
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    other = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-2"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    before = seat_map_version(show)

    reservation_refund(actor=fan, reservation_id=reservation.pk)

    assert seat_map_version(show) not in (None, before)
    assert admitted(fan)  # still admitted for the other hold
    other.refresh_from_db()
    assert other.status == ReservationStatus.HELD


@pytest.mark.parametrize("change", ["hold", "pay", "expire", "release"])
def test_every_change_of_the_seats_replaces_the_seat_map_version(show, fan, clock, change):
    reservation = None
    if change != "hold":
        reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    before = seat_map_version(show)

    if change == "hold":
        reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    elif change == "pay":
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    elif change == "expire":
        clock.advance(timedelta(minutes=5))
        reservation_expire_due()
    else:
        for _ in range(5):
            with pytest.raises((WrongPin, PaymentAttemptsExceeded)):
                reservation_pay(user=fan, reservation_id=reservation.pk, pin="000000")

    assert seat_map_version(show) not in (None, before)

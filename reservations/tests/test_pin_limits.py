"""Wrong payment PINs are limited per account across holds, and a withdrawal needs the PIN."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from accounts.exceptions import PinAttemptsLimited
from accounts.models import User
from accounts.services import user_pin_check
from accounts.tests.factories import DEFAULT_PIN
from points.models import LedgerEntry
from points.selectors import wallet_balance
from reservations.exceptions import WrongPin
from reservations.models import ReservationStatus
from reservations.services import reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = [pytest.mark.django_db, pytest.mark.security]


@pytest.fixture
def allowance(settings):
    settings.PIN_WRONG_PER_ACCOUNT = 6
    settings.PIN_WRONG_WINDOW_SECONDS = 120


def test_new_holds_give_no_new_pin_guesses(allowance, clock):
    """5 tries per hold, but new holds gave 5 more each: 60 wrong PINs in 55 s, then the right one."""
    show = make_show()
    fan = fan_with_points()
    guesses = iter(f"{n:06d}" for n in range(100_001, 100_100))
    for seat in ("B-1", "B-2"):  # two holds, three wrong PINs each: the account's six
        reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, seat))
        for _ in range(3):
            with pytest.raises(WrongPin):
                reservation_pay(user=fan, reservation_id=reservation.pk, pin=next(guesses))
    third = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-3"))

    with pytest.raises(PinAttemptsLimited) as refused:
        reservation_pay(user=fan, reservation_id=third.pk, pin=DEFAULT_PIN)  # even the right one

    assert 0 < refused.value.extra["retry_after_seconds"] <= 120
    third.refresh_from_db()
    assert third.status == ReservationStatus.HELD
    assert third.payment_attempts.count() == 0  # the refusal is not one of the hold's tries
    clock.advance(120)
    assert reservation_pay(user=fan, reservation_id=third.pk, pin=DEFAULT_PIN).status == "CONFIRMED"


def test_a_right_pin_does_not_use_up_the_allowance(allowance):
    show = make_show(seats_per_user=10)
    fan = fan_with_points(7 * 150_000)
    for seat in ("B-1", "B-2", "B-3", "B-4", "B-5", "B-6", "B-7"):
        reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, seat))
        assert reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN).status == "CONFIRMED"


def withdraw(fan, body: dict):
    api = APIClient()
    api.force_authenticate(fan)
    return api.post("/api/v1/wallet/withdrawals", body, format="json")


def test_a_withdrawal_needs_the_pin(allowance):
    fan = fan_with_points(100_000)

    missing = withdraw(fan, {"amount": 10_000})
    wrong = withdraw(fan, {"amount": 10_000, "pin": "000001"})

    assert missing.status_code == 400 and "pin" in missing.json()["errors"]
    assert wrong.status_code == 422 and wrong.json()["code"] == "WRONG_PIN"
    assert wallet_balance(user=fan) == 100_000
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WITHDRAWAL).exists()
    assert withdraw(fan, {"amount": 10_000, "pin": DEFAULT_PIN}).status_code == 201
    assert wallet_balance(user=fan) == 90_000


def test_wrong_pins_on_withdrawals_and_payments_share_the_allowance(allowance):
    show = make_show()
    fan = fan_with_points(1_000_000)
    assert [withdraw(fan, {"amount": 1_000, "pin": f"00000{n}"}).status_code for n in range(1, 7)] == [422] * 6
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    refused = withdraw(fan, {"amount": 1_000, "pin": DEFAULT_PIN})

    assert refused.status_code == 429
    assert refused.json()["code"] == "RATE_LIMITED" and int(refused["Retry-After"]) > 0
    with pytest.raises(PinAttemptsLimited):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    assert wallet_balance(user=fan) == 1_000_000


def test_the_wallet_page_asks_for_the_pin_to_withdraw(client, allowance):
    fan = fan_with_points(100_000)
    client.force_login(fan)

    wrong = client.post("/wallet/withdraw/", {"withdraw-amount": 10_000, "withdraw-pin": "000001"})
    right = client.post("/wallet/withdraw/", {"withdraw-amount": 10_000, "withdraw-pin": DEFAULT_PIN})

    assert wrong.status_code == 422
    assert right.status_code == 302
    assert wallet_balance(user=fan) == 90_000


def test_concurrent_guesses_get_no_more_than_the_allowance(allowance):
    """Sixteen wrong PINs at once from threads: each takes its place in the count atomically, so
    exactly the allowance (6) are checked and the others are refused, the right PIN too."""
    fan = fan_with_points()
    start = threading.Barrier(16)

    def guess(n: int) -> str:
        start.wait()
        try:
            return "checked" if not user_pin_check(user=fan, pin=f"{200_000 + n:06d}") else "right?"
        except PinAttemptsLimited:
            return "refused"

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(guess, range(16)))

    assert (answers.count("checked"), answers.count("refused")) == (6, 10)
    with pytest.raises(PinAttemptsLimited):
        user_pin_check(user=fan, pin=DEFAULT_PIN)


def test_a_pin_of_the_old_slow_hasher_is_not_checked_past_the_allowance(allowance):
    """Its check costs about 0.4 s of CPU: past the allowance the guess is refused unchecked (the
    right PIN too, whose success would have rewritten the hash), and within it a right PIN gives
    its place back."""
    fan = fan_with_points(pin_hash=make_password(DEFAULT_PIN))
    legacy = fan.pin_hash
    assert user_pin_check(user=fan, pin=DEFAULT_PIN)  # within the allowance: checked, rewritten
    assert fan.pin_hash != legacy
    fan.pin_hash = legacy
    fan.save(update_fields=["pin_hash"])
    for n in range(6):
        assert not user_pin_check(user=fan, pin=f"{300_000 + n:06d}")

    with pytest.raises(PinAttemptsLimited):
        user_pin_check(user=fan, pin=DEFAULT_PIN)

    assert User.objects.get(pk=fan.pk).pin_hash == legacy  # never checked

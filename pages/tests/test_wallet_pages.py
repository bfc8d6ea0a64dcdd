import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from pages.tests.helpers import text_of
from pages.wallet import LEDGER_PAGE_SIZE
from points.models import LedgerEntry
from points.selectors import wallet_balance
from points.services import wallet_charge
from reservations.services import reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def fan(client):
    user = UserFactory()
    client.force_login(user)
    return user


def test_wallet_shows_balance_and_the_policy_limits(client, fan, settings):
    settings.WALLET_CHARGE_MIN, settings.WALLET_CHARGE_MAX, settings.WALLET_BALANCE_CAP = 2_000, 500_000, 3_000_000

    page = text_of(client.get(reverse("pages:wallet")))

    assert "1회 충전: 2,000원 ~ 500,000원. 보유 포인트는 3,000,000원을 넘을 수 없습니다." in page
    assert 'data-testid="wallet-balance">0원<' in page


def test_charge_adds_points_and_says_the_new_balance(client, fan):
    response = client.post(reverse("pages:wallet-charge"), {"charge-amount": "200000"}, follow=True)

    assert wallet_balance(user=fan) == 200_000
    page = text_of(response)
    assert "200,000원을 충전했습니다. 남은 포인트는 200,000원입니다." in page
    assert 'data-testid="ledger-row"' in page and "충전" in page


def test_a_double_submitted_charge_form_charges_once(client, fan):
    form = {"charge-amount": "10000", "charge-idempotency_key": "same-form-render"}
    client.post(reverse("pages:wallet-charge"), form)
    client.post(reverse("pages:wallet-charge"), form)

    assert wallet_balance(user=fan) == 10_000
    assert LedgerEntry.objects.filter(wallet__user=fan).count() == 1


def test_charge_outside_the_limits_is_refused_in_words(client, fan):
    response = client.post(reverse("pages:wallet-charge"), {"charge-amount": "999"})

    assert response.status_code == 400
    assert "1회 충전 금액은 1,000원 이상 1,000,000원 이하여야 합니다." in text_of(response)
    response = client.post(reverse("pages:wallet-charge"), {"charge-amount": "1000001"})
    assert "1회 충전 금액은 1,000원 이상 1,000,000원 이하여야 합니다." in text_of(response)
    response = client.post(reverse("pages:wallet-charge"), {"charge-amount": "lots"})
    assert response.status_code == 400 and NOT_A_NUMBER in text_of(response)
    assert wallet_balance(user=fan) == 0


def test_charge_past_the_balance_cap_says_how_much_is_still_possible(client, fan, settings):
    settings.WALLET_BALANCE_CAP = 1_500_000
    wallet_charge(user=fan, amount=1_000_000)

    response = client.post(reverse("pages:wallet-charge"), {"charge-amount": "600000"})

    assert response.status_code == 409
    assert "보유 포인트는 1,500,000원을 넘을 수 없습니다. 최대 500,000원까지 더 충전할 수 있습니다." in text_of(
        response
    )
    assert wallet_balance(user=fan) == 1_000_000


def test_withdraw_more_than_the_balance_is_refused_and_less_works(client, fan):
    wallet_charge(user=fan, amount=50_000)

    response = client.post(reverse("pages:wallet-withdraw"), {"withdraw-amount": "60000", "withdraw-pin": DEFAULT_PIN})
    assert response.status_code == 400  # the form knows the balance; the service checks it again under its lock
    assert "출금 금액은 1원 이상, 보유 포인트(50,000원) 이하여야 합니다." in text_of(response)

    response = client.post(
        reverse("pages:wallet-withdraw"), {"withdraw-amount": "20000", "withdraw-pin": DEFAULT_PIN}, follow=True
    )
    assert "20,000원을 출금했습니다. 남은 포인트는 30,000원입니다." in text_of(response)
    assert wallet_balance(user=fan) == 30_000


def test_charge_returns_to_a_local_next_page(client, fan):
    response = client.post(reverse("pages:wallet-charge"), {"charge-amount": "5000", "next": "/reservations/7/pay/"})
    assert response["Location"] == "/reservations/7/pay/"


def test_ledger_history_is_paginated_newest_first(client, fan):
    for n in range(LEDGER_PAGE_SIZE + 2):
        wallet_charge(user=fan, amount=1_000 + n)

    first = _ledger_amounts(text_of(client.get(reverse("pages:wallet"))))
    second = _ledger_amounts(text_of(client.get(reverse("pages:wallet") + "?page=2")))

    assert len(first) == LEDGER_PAGE_SIZE and len(second) == 2
    assert first[0] == f"{1_000 + LEDGER_PAGE_SIZE + 1:,}원"
    assert second == ["1,001원", "1,000원"]


def _ledger_amounts(page: str) -> list[str]:
    return re.findall(r'data-testid="ledger-row">.*?<td class="num (?:plus|minus)">([^<]+)</td>', page, re.S)


def test_history_says_which_concert_show_and_seats_each_payment_and_refund_was_for(client, fan, clock):
    show = make_show(starts_in=timedelta(days=10))
    wallet_charge(user=fan, amount=1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2", "C-1"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=seats_of(show, "B-2"))
    reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=seats_of(show, "B-1", "C-1"))

    page = text_of(client.get(reverse("pages:wallet")))

    described = re.findall(r'data-testid="ledger-booking">([^<]+)</span>', page)
    starts = show.starts_at.astimezone(ZoneInfo("Asia/Seoul"))
    prefix = f"Test concert · {starts:%Y-%m-%d} "
    assert [line.split(" · ")[2] for line in described] == ["B-1, C-1", "B-2", "B-1, B-2, C-1"]  # newest first
    assert all(line.startswith(prefix) and line.endswith(reservation.booking_number) for line in described)


# Issue #15, item 8: the wallet's messages say the real limits and what was wrong.
RANGE = "1회 충전 금액은 1,000원 이상 1,000,000원 이하여야 합니다."
NOT_A_NUMBER = "금액을 원 단위 숫자로 입력하세요 (예: 10000)."


@pytest.mark.parametrize("typed", ["0", "", "99999999999999999999999", "-5"])
def test_a_charge_below_the_minimum_or_huge_or_missing_says_the_real_limits(client, fan, typed):
    response = client.post(reverse("pages:wallet-charge"), {"charge-amount": typed})

    assert response.status_code == 400
    page = text_of(response)
    assert RANGE in page or (typed == "-5" and NOT_A_NUMBER in page)
    assert "1 이상" not in page and "0보다 큰" not in page and "필수 항목" not in page
    assert wallet_balance(user=fan) == 0


def test_letters_in_the_amount_are_not_a_number_rather_than_missing(client, fan):
    response = client.post(reverse("pages:wallet-charge"), {"charge-amount": "1만원"})

    assert response.status_code == 400
    assert NOT_A_NUMBER in text_of(response)
    assert "필수 항목" not in text_of(response)


def test_the_amount_input_is_text_with_a_numeric_keypad_so_letters_reach_the_server(client, fan):
    page = text_of(client.get(reverse("pages:wallet")))

    field = re.search(r'<input[^>]*name="charge-amount"[^>]*>', page).group(0)
    assert 'type="text"' in field and 'inputmode="numeric"' in field


def test_a_charge_typed_with_thousands_separators_is_read(client, fan):
    client.post(reverse("pages:wallet-charge"), {"charge-amount": "10,000원"})

    assert wallet_balance(user=fan) == 10_000


@pytest.mark.parametrize("typed", ["0", "", "-1"])
def test_a_withdrawal_below_one_won_says_the_minimum_and_the_balance(client, fan, typed):
    wallet_charge(user=fan, amount=50_000)

    response = client.post(reverse("pages:wallet-withdraw"), {"withdraw-amount": typed, "withdraw-pin": DEFAULT_PIN})

    assert response.status_code == 400
    page = text_of(response)
    assert "출금 금액은 1원 이상, 보유 포인트(50,000원) 이하여야 합니다." in page or NOT_A_NUMBER in page
    assert "필수 항목" not in page
    assert wallet_balance(user=fan) == 50_000


def test_a_huge_withdrawal_says_the_balance_and_letters_are_not_a_number(client, fan):
    wallet_charge(user=fan, amount=50_000)

    response = client.post(reverse("pages:wallet-withdraw"), {"withdraw-amount": "9" * 30, "withdraw-pin": DEFAULT_PIN})
    assert response.status_code == 400
    assert "출금 금액은 1원 이상, 보유 포인트(50,000원) 이하여야 합니다." in text_of(response)
    response = client.post(reverse("pages:wallet-withdraw"), {"withdraw-amount": "abc", "withdraw-pin": DEFAULT_PIN})
    assert NOT_A_NUMBER in text_of(response)
    assert wallet_balance(user=fan) == 50_000

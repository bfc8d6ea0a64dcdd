"""Real threads against the real PostgreSQL: every thread has its own connection and transaction."""

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from core.exceptions import ApplicationError
from points.models import LedgerEntry, Wallet
from points.services import wallet_charge, wallet_credit, wallet_debit, wallet_withdraw
from points.tests.factories import funded_user

pytestmark = pytest.mark.django_db(transaction=True)

CAP = 10_000_000


def run_concurrently(calls: list[Callable[[], object]]) -> list[object]:
    """Start every call at once (a barrier), each in its own thread; results or raised exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # collected and asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def outcomes(results: list[object]) -> Counter:
    return Counter(r.code if isinstance(r, ApplicationError) else type(r).__name__ for r in results)


def assert_ledger_consistent() -> None:
    call_command("check_ledger")  # raises CommandError (exit 1) on any mismatch


def test_50_concurrent_charges_all_land():
    user = UserFactory()

    results = run_concurrently([lambda: wallet_charge(user=user, amount=10_000)] * 50)

    assert outcomes(results) == {"WalletMovement": 50}
    assert Wallet.objects.get(user=user).balance == 500_000
    entries = LedgerEntry.objects.filter(wallet__user=user)
    assert entries.count() == 50
    assert sorted(entries.values_list("balance_after", flat=True)) == list(range(10_000, 500_001, 10_000))
    assert_ledger_consistent()


def test_concurrent_charges_stop_exactly_at_the_cap():
    user = funded_user(CAP - 200_000)

    results = run_concurrently([lambda: wallet_charge(user=user, amount=10_000)] * 30)

    assert outcomes(results) == {"WalletMovement": 20, "BALANCE_CAP_EXCEEDED": 10}
    assert Wallet.objects.get(user=user).balance == CAP
    assert LedgerEntry.objects.filter(wallet__user=user, kind="CHARGE").count() == 20
    assert_ledger_consistent()


def test_concurrent_withdrawals_never_make_the_balance_negative(settings):
    # Every PIN check holds a place in the wrong-PIN allowance while it runs (accounts.services.
    # user_pin_check): 30 at once would fill it. This test is about the balance, not that limit.
    settings.PIN_WRONG_PER_ACCOUNT = 1_000
    user = funded_user(100_000)

    results = run_concurrently([lambda: wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=7_000)] * 30)

    assert outcomes(results) == {"WalletMovement": 14, "INSUFFICIENT_BALANCE": 16}
    assert Wallet.objects.get(user=user).balance == 100_000 - 14 * 7_000
    assert_ledger_consistent()


def test_concurrent_payments_debit_at_most_the_balance():
    user = funded_user(250_000)

    results = run_concurrently(
        [lambda i=i: wallet_debit(user=user, amount=100_000, reference=f"reservation:{i}") for i in range(10)]
    )

    assert outcomes(results) == {"LedgerEntry": 2, "INSUFFICIENT_BALANCE": 8}
    assert Wallet.objects.get(user=user).balance == 50_000
    assert_ledger_consistent()


def test_mixed_concurrent_movements_keep_the_ledger_consistent():
    users = [funded_user(50_000) for _ in range(3)]
    calls = []
    for user in users:
        calls += [lambda user=user: wallet_charge(user=user, amount=3_000)] * 5
        calls += [lambda user=user: wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=9_000)] * 5
        calls += [lambda user=user: wallet_debit(user=user, amount=4_000, reference="reservation:1")] * 3
        calls += [lambda user=user: wallet_credit(user=user, amount=4_000, reference="reservation:1")] * 2

    results = run_concurrently(calls)

    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, ApplicationError)]
    for user in users:
        wallet = Wallet.objects.get(user=user)
        assert wallet.balance >= 0
        assert wallet.balance == sum(LedgerEntry.objects.filter(wallet=wallet).values_list("amount", flat=True))
    assert_ledger_consistent()


def test_concurrent_same_key_charges_through_the_api_move_money_once():
    user = UserFactory()

    def charge():
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(
            "/api/v1/wallet/charges", {"amount": 10_000}, format="json", headers={"Idempotency-Key": "once"}
        )
        return response.status_code, response.json()

    results = run_concurrently([charge] * 20)

    assert {status for status, _ in results} == {201}
    assert len({str(body) for _, body in results}) == 1  # every answer is the first answer
    assert Wallet.objects.get(user=user).balance == 10_000
    assert LedgerEntry.objects.filter(wallet__user=user).count() == 1
    assert_ledger_consistent()


def test_concurrent_same_key_with_different_amounts_moves_money_once():
    user = UserFactory()

    results = run_concurrently(
        [
            lambda amount=amount: wallet_charge(user=user, amount=amount, idempotency_key="k")
            for amount in (1_000, 2_000)
        ]
        * 10
    )

    counts = outcomes(results)
    assert counts["WalletMovement"] >= 10 and counts["IDEMPOTENCY_KEY_REUSED"] >= 10
    [entry] = LedgerEntry.objects.filter(wallet__user=user)
    assert Wallet.objects.get(user=user).balance == entry.amount
    assert sum(1 for r in results if not isinstance(r, Exception) and r.entry.amount == entry.amount) == 10
    assert_ledger_consistent()

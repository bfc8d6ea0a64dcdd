from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from points.models import Wallet
from points.services import wallet_charge, wallet_withdraw
from points.tests.factories import funded_user, ledger_entry_insert_raw

pytestmark = pytest.mark.django_db


def run_check() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check_ledger", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def healthy_wallets() -> list:
    users = [funded_user(100_000), funded_user(0), UserFactory()]
    wallet_charge(user=users[1], amount=5_000)
    wallet_withdraw(user=users[0], pin=DEFAULT_PIN, amount=30_000)
    return users


def test_passes_on_healthy_data():
    healthy_wallets()

    out, err = run_check()

    assert "3 wallets, 3 entries, 0 balance mismatches, 0 chain breaks: OK" in out
    assert err == ""


def test_detects_a_tampered_balance():
    users = healthy_wallets()
    wallet = Wallet.objects.get(user=users[0])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE points_wallet SET balance = balance + 1 WHERE id = %s", [wallet.pk])

    with pytest.raises(CommandError, match="1 balance mismatches, 0 chain breaks"):
        run_check()


def test_detects_a_balance_on_a_wallet_without_entries():
    users = healthy_wallets()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE points_wallet SET balance = 500 WHERE user_id = %s", [users[2].pk])

    with pytest.raises(CommandError, match="1 balance mismatches"):
        run_check()


def test_detects_a_broken_chain_even_when_the_sum_matches():
    user = funded_user(100_000)
    wallet = Wallet.objects.get(user=user)
    # An entry whose balance_after skips ahead, then one that brings the chain back: the sum and
    # the last balance_after still match the balance; only the chain shows the damage (both entries).
    ledger_entry_insert_raw(wallet_id=wallet.pk, kind="CHARGE", amount=1_000, balance_after=102_000)
    ledger_entry_insert_raw(wallet_id=wallet.pk, kind="CHARGE", amount=1_000, balance_after=102_000)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE points_wallet SET balance = 102000 WHERE id = %s", [wallet.pk])

    with pytest.raises(CommandError, match="0 balance mismatches, 2 chain breaks"):
        out, err = StringIO(), StringIO()
        try:
            call_command("check_ledger", stdout=out, stderr=err)
        finally:
            assert f"CHAIN BREAK wallet={wallet.pk}" in err.getvalue()
            assert "expected=101000" in err.getvalue()


def test_checks_a_long_ledger_in_sql():
    wallet = UserFactory().wallet
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO points_ledgerentry "
            "(wallet_id, kind, amount, balance_after, reference, idempotency_key, note, created_at) "
            "SELECT %s, 'CHARGE', 1000, i * 1000, '', '', '', NOW() FROM generate_series(1, 100000) AS i",
            [wallet.pk],
        )
        cursor.execute("UPDATE points_wallet SET balance = 100000000 WHERE id = %s", [wallet.pk])

    out, _ = run_check()

    assert "1 wallets, 100000 entries, 0 balance mismatches, 0 chain breaks: OK" in out

import functools
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import User
from accounts.tests.factories import DEFAULT_PIN, UserFactory
from core.exceptions import ValidationFailed
from points.exceptions import (
    AdjustmentNotAllowed,
    AmountOutOfRange,
    BalanceCapExceeded,
    IdempotencyKeyReused,
    InsufficientBalance,
)
from points.models import LedgerEntry, LedgerEntryIsAppendOnly, Wallet
from points.selectors import ledger_audit
from points.services import (
    wallet_adjust,
    wallet_charge,
    wallet_credit,
    wallet_debit,
    wallet_withdraw,
)
from points.tests.factories import funded_user

pytestmark = pytest.mark.django_db

CAP = 10_000_000


def balance_of(user: User) -> int:
    return Wallet.objects.get(user=user).balance


def entries_of(user: User) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(wallet__user=user).order_by("id"))


# --- charges ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1_000, 1_001, 999_999, 1_000_000])
def test_charge_within_the_range_is_written_with_the_new_balance(amount):
    user = UserFactory()

    movement = wallet_charge(user=user, amount=amount)

    assert movement.balance == amount == balance_of(user)
    assert not movement.replayed
    [entry] = entries_of(user)
    assert (entry.kind, entry.amount, entry.balance_after, entry.reference) == ("CHARGE", amount, amount, "")
    assert ledger_audit().ok


@pytest.mark.parametrize("amount", [999, 1_000_001, 5_000_000])
def test_charge_outside_the_range_is_amount_out_of_range_and_moves_nothing(amount):
    user = UserFactory()

    with pytest.raises(AmountOutOfRange) as error:
        wallet_charge(user=user, amount=amount)

    assert error.value.status == 400
    assert error.value.extra == {"min": 1_000, "max": 1_000_000}
    assert balance_of(user) == 0 and entries_of(user) == []


def test_charge_limits_and_cap_are_settings(settings):
    settings.WALLET_CHARGE_MIN = 10
    settings.WALLET_CHARGE_MAX = 20
    settings.WALLET_BALANCE_CAP = 30
    user = UserFactory()

    assert wallet_charge(user=user, amount=10).balance == 10
    assert wallet_charge(user=user, amount=20).balance == 30
    with pytest.raises(AmountOutOfRange):
        wallet_charge(user=user, amount=21)
    with pytest.raises(BalanceCapExceeded):
        wallet_charge(user=user, amount=10)


def test_charge_may_reach_the_cap_exactly_and_the_next_one_is_refused():
    user = funded_user(CAP - 1_000_000)

    assert wallet_charge(user=user, amount=1_000_000).balance == CAP
    with pytest.raises(BalanceCapExceeded) as error:
        wallet_charge(user=user, amount=1_000)

    assert error.value.status == 409
    assert error.value.extra == {"balance": CAP, "cap": CAP}
    assert balance_of(user) == CAP
    assert len(entries_of(user)) == 2


def test_charge_crossing_the_cap_by_one_won_is_refused():
    user = funded_user(CAP - 999)

    with pytest.raises(BalanceCapExceeded):
        wallet_charge(user=user, amount=1_000)

    assert balance_of(user) == CAP - 999


@pytest.mark.parametrize("amount", [0, -1_000, 1_000.0, 1_000.5, "1000", True, None, 2**63])
def test_services_refuse_amounts_that_are_not_positive_integers(amount):
    user = funded_user(10_000)

    for service in (wallet_charge, functools.partial(wallet_withdraw, pin=DEFAULT_PIN)):
        # Whole numbers outside the limits are AMOUNT_OUT_OF_RANGE (or, withdrawing, more than the
        # balance), anything else a validation error.
        with pytest.raises((ValidationFailed, AmountOutOfRange, InsufficientBalance)):
            service(user=user, amount=amount)
    for service in (wallet_debit, wallet_credit):
        with pytest.raises(ValidationFailed):
            service(user=user, amount=amount, reference="reservation:1")
    assert balance_of(user) == 10_000 and len(entries_of(user)) == 1


def test_charge_opens_a_missing_wallet():
    user = User.objects.create_user(phone="010-7777-0001", password="x", name="admin")  # no wallet

    assert wallet_charge(user=user, amount=5_000).balance == 5_000
    assert balance_of(user) == 5_000


def test_entries_are_stamped_by_the_injectable_clock(clock):
    frozen = clock.freeze(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    user = UserFactory()

    entry = wallet_charge(user=user, amount=5_000).entry

    assert entry.created_at == frozen
    assert LedgerEntry.objects.get(pk=entry.pk).created_at == frozen


# --- withdrawals ------------------------------------------------------------------------------


def test_withdraw_up_to_the_whole_balance():
    user = funded_user(30_000)

    assert wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=10_000).balance == 20_000
    movement = wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=20_000)

    assert movement.balance == 0 == balance_of(user)
    assert (movement.entry.kind, movement.entry.amount) == ("WITHDRAWAL", -20_000)
    assert ledger_audit().ok


def test_withdraw_more_than_the_balance_is_insufficient_balance():
    user = funded_user(30_000)

    with pytest.raises(InsufficientBalance) as error:
        wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=30_001)

    assert (error.value.status, error.value.code, error.value.extra) == (
        409,
        "INSUFFICIENT_BALANCE",
        {"balance": 30_000},
    )
    assert balance_of(user) == 30_000 and len(entries_of(user)) == 1


def test_withdraw_from_an_empty_wallet_is_refused():
    user = UserFactory()

    with pytest.raises(InsufficientBalance):
        wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=1)


# --- idempotency ------------------------------------------------------------------------------


def test_charge_replayed_with_the_same_key_returns_the_first_entry_and_moves_nothing():
    user = UserFactory()
    first = wallet_charge(user=user, amount=5_000, idempotency_key="k-1")
    wallet_charge(user=user, amount=7_000)  # the balance moves on in between

    replay = wallet_charge(user=user, amount=5_000, idempotency_key="k-1")

    assert replay.replayed and replay.entry == first.entry
    assert replay.balance == first.balance == 5_000
    assert balance_of(user) == 12_000 and len(entries_of(user)) == 2


@pytest.mark.parametrize(
    "second",
    [
        lambda user: wallet_charge(user=user, amount=6_000, idempotency_key="k-1"),
        lambda user: wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=5_000, idempotency_key="k-1"),
        lambda user: wallet_debit(user=user, amount=5_000, reference="reservation:1", idempotency_key="k-1"),
    ],
    ids=["other-amount", "other-operation", "payment"],
)
def test_same_key_for_something_else_is_idempotency_key_reused(second):
    user = funded_user(50_000)
    wallet_charge(user=user, amount=5_000, idempotency_key="k-1")

    with pytest.raises(IdempotencyKeyReused) as error:
        second(user)

    assert error.value.status == 409
    assert balance_of(user) == 55_000 and len(entries_of(user)) == 2


def test_keys_are_per_user():
    alice, bob = UserFactory(), UserFactory()

    wallet_charge(user=alice, amount=5_000, idempotency_key="shared")
    movement = wallet_charge(user=bob, amount=6_000, idempotency_key="shared")

    assert not movement.replayed
    assert (balance_of(alice), balance_of(bob)) == (5_000, 6_000)


def test_a_refused_request_does_not_use_up_its_key():
    user = UserFactory()
    with pytest.raises(InsufficientBalance):
        wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=5_000, idempotency_key="k-1")
    wallet_charge(user=user, amount=5_000)

    movement = wallet_withdraw(user=user, pin=DEFAULT_PIN, amount=5_000, idempotency_key="k-1")

    assert not movement.replayed and movement.balance == 0


@pytest.mark.parametrize("key", ["", "x" * 101, "has space", "한글", "tab\t"])
def test_malformed_keys_are_validation_errors(key):
    user = UserFactory()

    with pytest.raises(ValidationFailed):
        wallet_charge(user=user, amount=5_000, idempotency_key=key)

    assert entries_of(user) == []


def test_a_key_of_exactly_100_characters_is_accepted():
    user = UserFactory()

    assert wallet_charge(user=user, amount=5_000, idempotency_key="k" * 100).entry.idempotency_key == "k" * 100


# --- debit and credit inside the caller's transaction -----------------------------------------


def test_debit_writes_a_payment_entry_with_its_reference():
    user = funded_user(150_000)

    entry = wallet_debit(user=user, amount=100_000, reference="reservation:42")

    assert (entry.kind, entry.amount, entry.balance_after, entry.reference) == (
        "PAYMENT",
        -100_000,
        50_000,
        "reservation:42",
    )
    assert balance_of(user) == 50_000


def test_debit_of_more_than_the_balance_is_insufficient_balance_and_writes_nothing():
    user = funded_user(99_999)

    with transaction.atomic():
        with pytest.raises(InsufficientBalance):
            wallet_debit(user=user, amount=100_000, reference="reservation:42")
        # the caller's transaction is still usable (it records a failed attempt, say)
        assert balance_of(user) == 99_999

    assert len(entries_of(user)) == 1


def test_debit_inside_an_outer_transaction_that_rolls_back_leaves_nothing():
    user = funded_user(150_000)

    with pytest.raises(RuntimeError), transaction.atomic():
        wallet_debit(user=user, amount=100_000, reference="reservation:42")
        raise RuntimeError("the seats could not be sold")

    assert balance_of(user) == 150_000
    assert len(entries_of(user)) == 1
    assert ledger_audit().ok


def test_debit_with_a_key_is_idempotent():
    user = funded_user(300_000)

    first = wallet_debit(user=user, amount=100_000, reference="reservation:42", idempotency_key="pay-1")
    again = wallet_debit(user=user, amount=100_000, reference="reservation:42", idempotency_key="pay-1")

    assert again == first
    assert balance_of(user) == 200_000
    with pytest.raises(IdempotencyKeyReused):
        wallet_debit(user=user, amount=100_000, reference="reservation:43", idempotency_key="pay-1")


def test_credit_ignores_the_cap():
    user = funded_user(CAP)

    entry = wallet_credit(user=user, amount=100_000, reference="reservation:42")

    assert (entry.kind, entry.amount, entry.balance_after) == ("TICKET_REFUND", 100_000, CAP + 100_000)
    with pytest.raises(BalanceCapExceeded):
        wallet_charge(user=user, amount=1_000)
    assert balance_of(user) == CAP + 100_000


def test_credit_past_the_bigint_range_is_refused_not_a_database_error():
    user = funded_user(2**63 - 10)

    with pytest.raises(ValidationFailed):
        wallet_credit(user=user, amount=10, reference="reservation:42")

    assert balance_of(user) == 2**63 - 10


# --- adjustments ------------------------------------------------------------------------------


def test_superuser_adjustment_writes_an_adjustment_entry_with_reason_and_actor():
    admin = UserFactory(is_staff=True, is_superuser=True)
    user = funded_user(10_000)

    up = wallet_adjust(user=user, amount=CAP, reason="  goodwill  ", actor=admin)
    down = wallet_adjust(user=user, amount=-CAP - 10_000, reason="correction", actor=admin)

    assert (up.kind, up.amount, up.balance_after, up.note, up.created_by) == (
        "ADJUSTMENT",
        CAP,
        CAP + 10_000,
        "goodwill",
        admin,
    )
    assert (down.amount, down.balance_after) == (-CAP - 10_000, 0)
    assert balance_of(user) == 0
    assert ledger_audit().ok


def test_adjustment_below_zero_is_refused():
    admin = UserFactory(is_staff=True, is_superuser=True)
    user = funded_user(10_000)

    with pytest.raises(InsufficientBalance):
        wallet_adjust(user=user, amount=-10_001, reason="oops", actor=admin)

    assert balance_of(user) == 10_000


@pytest.mark.parametrize(
    ("amount", "reason"), [(0, "x"), (1.5, "x"), (True, "x"), (1_000, ""), (1_000, "  "), (1_000, "x" * 256)]
)
def test_adjustment_needs_a_non_zero_integer_and_a_reason(amount, reason):
    admin = UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()

    with pytest.raises(ValidationFailed):
        wallet_adjust(user=user, amount=amount, reason=reason, actor=admin)

    assert entries_of(user) == []


def test_only_a_superuser_may_adjust():
    organizer = UserFactory(is_staff=True)
    user = UserFactory()

    with pytest.raises(AdjustmentNotAllowed):
        wallet_adjust(user=user, amount=1_000, reason="x", actor=organizer)

    assert entries_of(user) == []


# --- the ledger is append-only, and the database says so too ---------------------------------


def test_orm_refuses_to_change_or_delete_entries():
    user = funded_user(10_000)
    entry = entries_of(user)[0]

    entry.amount = 1
    with pytest.raises(LedgerEntryIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerEntryIsAppendOnly):
        entry.delete()
    with pytest.raises(LedgerEntryIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(LedgerEntryIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).delete()

    assert LedgerEntry.objects.get(pk=entry.pk).amount == 10_000


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE points_ledgerentry SET amount = 1 WHERE id = %s",
        "UPDATE points_ledgerentry SET reference = 'x' WHERE id = %s",
        "DELETE FROM points_ledgerentry WHERE id = %s",
    ],
)
def test_database_refuses_to_change_or_delete_entries(sql):
    user = funded_user(10_000)
    entry = entries_of(user)[0]

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])

    assert LedgerEntry.objects.filter(pk=entry.pk, amount=10_000, reference="test:funding").exists()


@pytest.mark.parametrize(
    ("kind", "amount", "balance_after"),
    [
        ("CHARGE", 0, 0),  # zero amount
        ("ADJUSTMENT", -5, -5),  # negative balance
        ("CHARGE", -5, 0),  # a charge takes nothing
        ("PAYMENT", 5, 5),  # a payment gives nothing
        ("WITHDRAWAL", 5, 5),
        ("TICKET_REFUND", -5, 0),
    ],
)
def test_database_checks_entries(kind, amount, balance_after):
    wallet = UserFactory().wallet

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            wallet=wallet, kind=kind, amount=amount, balance_after=balance_after, created_at=datetime.now(UTC)
        )


def test_database_refuses_a_negative_wallet_balance():
    wallet = UserFactory().wallet

    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(balance=-1)


def test_database_refuses_a_second_entry_with_the_same_key_in_one_wallet():
    user = UserFactory()
    wallet_charge(user=user, amount=5_000, idempotency_key="k-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            wallet=user.wallet,
            kind="CHARGE",
            amount=5_000,
            balance_after=10_000,
            idempotency_key="k-1",
            created_at=datetime.now(UTC),
        )

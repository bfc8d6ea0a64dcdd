"""Every change of a wallet's balance goes through these functions.

Each one locks the wallet row (select_for_update), checks the policy, writes one LedgerEntry and
the new balance, in one transaction. Entry points called by views (charge, withdraw, adjust) own a
durable transaction; `wallet_debit` and `wallet_credit` run inside the caller's transaction
(`_in_callers_transaction`), so a payment or a ticket refund commits or rolls back together with
the seats. Callers that hold other row locks should take the wallet lock last (it is the most
contended row per user).
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import transaction

from accounts.exceptions import WrongPin
from accounts.models import User
from accounts.services import user_pin_check
from core.clock import clock
from core.exceptions import ValidationFailed
from core.metrics import metric_incr_on_commit
from points.exceptions import (
    AdjustmentNotAllowed,
    AmountOutOfRange,
    BalanceCapExceeded,
    InsufficientBalance,
)
from points.idempotency import idempotency_key_clean, ledger_entry_replay
from points.models import LedgerEntry, Wallet
from points.tasks import send_charge_receipt

T = TypeVar("T")

# The largest balance or amount PostgreSQL's bigint holds: a technical bound, not a policy.
AMOUNT_LIMIT = 2**63 - 1

Kind = LedgerEntry.Kind
# The smallest withdrawal: one won (the SPEC allows any amount up to the balance).
WITHDRAWAL_MIN = 1


@dataclass(frozen=True)
class WalletMovement:
    """What a charge or withdrawal did. `replayed` when an earlier request with the same
    Idempotency-Key had already done it (nothing moved this time)."""

    entry: LedgerEntry
    replayed: bool = False

    @property
    def balance(self) -> int:
        """The balance right after the movement (the same on a replay)."""
        return self.entry.balance_after


def wallet_create(*, user: User) -> Wallet:
    return Wallet.objects.create(user=user)


@transaction.atomic(durable=True)
def wallet_charge(*, user: User, amount: int, idempotency_key: str | None = None) -> WalletMovement:
    """Add points. Refuses any whole amount outside [WALLET_CHARGE_MIN, WALLET_CHARGE_MAX], zero and
    negative ones included (AmountOutOfRange), and charges that would take the balance past
    WALLET_BALANCE_CAP (BalanceCapExceeded)."""
    _whole_won_check(amount)
    if not settings.WALLET_CHARGE_MIN <= amount <= settings.WALLET_CHARGE_MAX:
        raise AmountOutOfRange(min=settings.WALLET_CHARGE_MIN, max=settings.WALLET_CHARGE_MAX)
    key = idempotency_key_clean(idempotency_key)
    wallet = _wallet_lock(user=user)
    replay = ledger_entry_replay(wallet=wallet, idempotency_key=key, kind=Kind.CHARGE, amount=amount)
    if replay is not None:
        return WalletMovement(entry=replay, replayed=True)
    if wallet.balance + amount > settings.WALLET_BALANCE_CAP:
        raise BalanceCapExceeded(balance=wallet.balance, cap=settings.WALLET_BALANCE_CAP)
    metric_incr_on_commit("points_charged", amount)
    entry = _entry_write(wallet=wallet, kind=Kind.CHARGE, amount=amount, idempotency_key=key)
    transaction.on_commit(lambda: send_charge_receipt.delay(entry.pk), robust=True)  # a mail, once
    return WalletMovement(entry=entry)


@transaction.atomic(durable=True)
def wallet_withdraw(*, user: User, amount: int, pin: str, idempotency_key: str | None = None) -> WalletMovement:
    """Give unused points back to the user: any amount from 1 won (AmountOutOfRange below) up to the
    balance (InsufficientBalance beyond).

    Money leaves the service, so the payment PIN authorises it, as it does a payment, and a wrong
    one counts against the same per-account allowance (accounts.services.user_pin_check): WrongPin,
    PinAttemptsLimited. A replay with the same Idempotency-Key needs the PIN too.
    """
    _whole_won_check(amount)
    if amount < WITHDRAWAL_MIN:
        raise AmountOutOfRange("A withdrawal is at least 1 won.", min=WITHDRAWAL_MIN)
    if not user_pin_check(user=user, pin=pin):
        raise WrongPin()
    key = idempotency_key_clean(idempotency_key)
    wallet = _wallet_lock(user=user)
    replay = ledger_entry_replay(wallet=wallet, idempotency_key=key, kind=Kind.WITHDRAWAL, amount=-amount)
    if replay is not None:
        return WalletMovement(entry=replay, replayed=True)
    if amount > wallet.balance:
        raise InsufficientBalance(balance=wallet.balance)
    return WalletMovement(entry=_entry_write(wallet=wallet, kind=Kind.WITHDRAWAL, amount=-amount, idempotency_key=key))


def _in_callers_transaction(service: Callable[..., T]) -> Callable[..., T]:
    """Run the service inside the caller's transaction, or in one of its own when there is none,
    without a savepoint: the service refuses (raises) before it moves any points, so the caller's
    transaction stays usable after a refusal (a payment then records its failed attempt), and a
    savepoint would cost two more round trips (SAVEPOINT, RELEASE) on every payment. A wallet
    opened for a user without one (_wallet_lock) stays opened, empty, whatever follows."""

    @functools.wraps(service)
    def run(**kwargs) -> T:
        if transaction.get_connection().in_atomic_block:
            return service(**kwargs)
        with transaction.atomic():
            return service(**kwargs)

    return run


@_in_callers_transaction
def wallet_debit(*, user: User, amount: int, reference: str, idempotency_key: str | None = None) -> LedgerEntry:
    """Take `amount` (> 0) for a payment, inside the caller's transaction.

    Locks the wallet row until the caller's transaction ends. Raises InsufficientBalance (409;
    extra `balance`) when the balance is too low, writing nothing. With an idempotency key already
    used for the same amount and reference, returns that first entry and moves nothing; used for
    anything else, raises IdempotencyKeyReused.
    """
    _amount_check(amount)
    key = idempotency_key_clean(idempotency_key)
    wallet = _wallet_lock(user=user)
    replay = ledger_entry_replay(
        wallet=wallet, idempotency_key=key, kind=Kind.PAYMENT, amount=-amount, reference=reference
    )
    if replay is not None:
        return replay
    if amount > wallet.balance:
        raise InsufficientBalance(balance=wallet.balance)
    return _entry_write(wallet=wallet, kind=Kind.PAYMENT, amount=-amount, reference=reference, idempotency_key=key)


@_in_callers_transaction
def wallet_credit(*, user: User, amount: int, reference: str, idempotency_key: str | None = None) -> LedgerEntry:
    """Give `amount` (> 0) back for a refunded ticket, inside the caller's transaction. The balance
    cap does not apply: a refund always credits. Idempotency key as for wallet_debit."""
    _amount_check(amount)
    key = idempotency_key_clean(idempotency_key)
    wallet = _wallet_lock(user=user)
    replay = ledger_entry_replay(
        wallet=wallet, idempotency_key=key, kind=Kind.TICKET_REFUND, amount=amount, reference=reference
    )
    if replay is not None:
        return replay
    return _entry_write(wallet=wallet, kind=Kind.TICKET_REFUND, amount=amount, reference=reference, idempotency_key=key)


@transaction.atomic(durable=True)
def wallet_adjust(*, user: User, amount: int, reason: str, actor: User) -> LedgerEntry:
    """A superuser's correction: a signed, non-zero amount with a reason, written as an ADJUSTMENT
    entry. The cap does not apply; the balance cannot go below zero (InsufficientBalance)."""
    if not (actor.is_active and actor.is_superuser):
        raise AdjustmentNotAllowed()
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0 or abs(amount) > AMOUNT_LIMIT:
        raise ValidationFailed(errors={"amount": ["Enter a non-zero whole number of won."]})
    reason = (reason or "").strip()
    if not reason or len(reason) > LedgerEntry._meta.get_field("note").max_length:
        raise ValidationFailed(errors={"reason": ["Give a reason of at most 255 characters."]})
    wallet = _wallet_lock(user=user)
    if wallet.balance + amount < 0:
        raise InsufficientBalance(balance=wallet.balance)
    return _entry_write(
        wallet=wallet, kind=Kind.ADJUSTMENT, amount=amount, reference="admin-adjustment", note=reason, actor=actor
    )


def _whole_won_check(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed(errors={"amount": ["Enter a whole number of won."]})


def _amount_check(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= AMOUNT_LIMIT:
        raise ValidationFailed(errors={"amount": ["Enter a positive whole number of won."]})


# Written out: on every payment of a rush, where the ORM's building of the statement cost more CPU
# than the statement (reservations.services, _SQL_*).
_SQL_WALLET_LOCKED = "SELECT * FROM points_wallet WHERE user_id = %s FOR UPDATE"


def _wallet_lock(*, user: User) -> Wallet:
    """The user's wallet, its row locked until the transaction ends (opened if it is missing,
    e.g. for a user made with createsuperuser)."""
    wallet = next(iter(Wallet.objects.raw(_SQL_WALLET_LOCKED, [user.pk])), None)  # one per user
    if wallet is None:
        Wallet.objects.get_or_create(user=user)
        wallet = next(iter(Wallet.objects.raw(_SQL_WALLET_LOCKED, [user.pk])))
    return wallet


def _entry_write(
    *,
    wallet: Wallet,
    kind: str,
    amount: int,
    reference: str = "",
    idempotency_key: str | None = None,
    note: str = "",
    actor: User | None = None,
) -> LedgerEntry:
    """Append the entry and set the new balance. Expects the wallet row lock held and the policy checked."""
    new_balance = wallet.balance + amount
    if new_balance > AMOUNT_LIMIT:
        raise ValidationFailed(errors={"amount": ["The amount is too large."]})
    now = clock.now()
    entry = LedgerEntry.objects.create(
        wallet=wallet,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        reference=reference,
        idempotency_key=idempotency_key or "",
        note=note,
        created_by=actor,
        created_at=now,
    )
    Wallet.objects.filter(pk=wallet.pk).update(balance=new_balance, updated_at=now)
    wallet.balance = new_balance
    return entry

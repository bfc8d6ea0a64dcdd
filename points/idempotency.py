"""Idempotency keys for the operations that move money (charge, withdrawal, payment).

The key lives on the ledger entry it produced, unique per wallet, so "was this request already
carried out?" and "carry it out" are answered under the same wallet row lock, in the same
transaction as the money movement: two concurrent requests with one key queue on the lock and the
second finds the first's entry, so money moves once. A failed request writes no entry, so its key
stays free and a retry is judged afresh.

Other apps reuse it through the services: `wallet_debit(..., idempotency_key=key)` returns the
first entry when the same key comes again with the same amount and reference, and raises
IdempotencyKeyReused when the key was used for something else.
"""

import re

from core.exceptions import ValidationFailed
from points.exceptions import IdempotencyKeyReused
from points.models import LedgerEntry, Wallet

HEADER = "Idempotency-Key"
MAX_LENGTH = LedgerEntry.KEY_MAX_LENGTH
# Printable ASCII without spaces: UUIDs, ULIDs, base64 and the like.
_KEY = re.compile(r"^[\x21-\x7e]+$")


def idempotency_key_clean(key: str | None) -> str | None:
    """The key as given, or None when absent; VALIDATION_ERROR when empty, too long or not printable ASCII."""
    if key is None:
        return None
    if not isinstance(key, str) or not key or len(key) > MAX_LENGTH or not _KEY.match(key):
        raise ValidationFailed(
            f"{HEADER} must be 1 to {MAX_LENGTH} printable ASCII characters without spaces.",
            errors={HEADER: [f"Send 1 to {MAX_LENGTH} printable ASCII characters, e.g. a UUID."]},
        )
    return key


def ledger_entry_replay(
    *, wallet: Wallet, idempotency_key: str | None, kind: str, amount: int, reference: str = ""
) -> LedgerEntry | None:
    """The entry an earlier request with this key wrote, if it asked for the same thing.

    Expects the wallet row lock held (select_for_update), so no request with the same key can be
    between its check and its write. Raises IdempotencyKeyReused when the key was used for another
    kind, amount or reference.
    """
    if idempotency_key is None:
        return None
    entry = LedgerEntry.objects.filter(wallet=wallet, idempotency_key=idempotency_key).first()
    if entry is None:
        return None
    if entry.kind != kind or entry.amount != amount or entry.reference != reference:
        raise IdempotencyKeyReused()
    return entry

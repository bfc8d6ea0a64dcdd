from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import QuerySet

from accounts.models import User
from points.models import LedgerEntry, Wallet


def wallet_balance(*, user: User) -> int:
    """The user's balance (0 for a user whose wallet was never opened). Written out rather than
    through the ORM: every page of a logged-in fan shows it in its header, the concert page in the
    rush too, and the ORM's building of this one query cost 0.2 ms of the page's 1.7 (0.04 so)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT balance FROM {Wallet._meta.db_table} WHERE user_id = %s", [user.pk])
        row = cursor.fetchone()
    return row[0] if row else 0


def ledger_entry_list(*, user: User) -> QuerySet[LedgerEntry]:
    """The user's ledger, newest first."""
    return LedgerEntry.objects.filter(wallet__user=user).order_by("-id")


@dataclass
class LedgerAudit:
    """What `ledger_audit` found: counts and one line per mismatch."""

    wallets: int = 0
    entries: int = 0
    balance_mismatches: list[dict] = field(default_factory=list)
    chain_breaks: list[dict] = field(default_factory=list)
    balance_mismatch_count: int = 0
    chain_break_count: int = 0

    @property
    def ok(self) -> bool:
        return self.balance_mismatch_count == 0 and self.chain_break_count == 0


_COUNTS_SQL = "SELECT (SELECT COUNT(*) FROM points_wallet), (SELECT COUNT(*) FROM points_ledgerentry)"

# Wallets whose balance differs from the sum of their entries or from their last balance_after.
_BALANCE_MISMATCHES_SQL = """
WITH sums AS (
    SELECT wallet_id,
           SUM(amount) AS total,
           COUNT(*) AS entries,
           (ARRAY_AGG(balance_after ORDER BY id DESC))[1] AS last_balance_after
    FROM points_ledgerentry
    GROUP BY wallet_id
), mismatches AS (
    SELECT w.id, w.user_id, w.balance,
           COALESCE(s.total, 0) AS total,
           COALESCE(s.entries, 0) AS entries,
           COALESCE(s.last_balance_after, 0) AS last_balance_after
    FROM points_wallet w
    LEFT JOIN sums s ON s.wallet_id = w.id
    WHERE w.balance <> COALESCE(s.total, 0) OR w.balance <> COALESCE(s.last_balance_after, 0)
)
SELECT *, COUNT(*) OVER () FROM mismatches ORDER BY id LIMIT %s
"""

# Entries whose balance_after is not the previous entry's balance_after (0 for the first) + amount.
_CHAIN_BREAKS_SQL = """
WITH chain AS (
    SELECT id, wallet_id, amount, balance_after,
           COALESCE(LAG(balance_after) OVER (PARTITION BY wallet_id ORDER BY id), 0) AS previous_balance_after
    FROM points_ledgerentry
), breaks AS (
    SELECT * FROM chain WHERE balance_after <> previous_balance_after + amount
)
SELECT *, COUNT(*) OVER () FROM breaks ORDER BY wallet_id, id LIMIT %s
"""


def ledger_audit(*, max_details: int = 50) -> LedgerAudit:
    """Check every wallet against its ledger in SQL (one pass each, fine for millions of entries):
    balance == sum of amounts == last balance_after, and each entry's balance_after == the previous
    one's + amount. Reads one consistent snapshot (REPEATABLE READ), so concurrent payments never
    show up as false mismatches. Details are limited to `max_details` rows of each kind."""
    audit = LedgerAudit()
    outermost = not connection.in_atomic_block  # inside a caller's transaction, its snapshot rules
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute(_COUNTS_SQL)
        audit.wallets, audit.entries = cursor.fetchone()
        cursor.execute(_BALANCE_MISMATCHES_SQL, [max_details])
        for wallet_id, user_id, balance, total, entries, last, count in cursor.fetchall():
            audit.balance_mismatch_count = count
            audit.balance_mismatches.append(
                {
                    "wallet_id": wallet_id,
                    "user_id": user_id,
                    "balance": balance,
                    "ledger_sum": int(total),
                    "entries": entries,
                    "last_balance_after": last,
                }
            )
        cursor.execute(_CHAIN_BREAKS_SQL, [max_details])
        for entry_id, wallet_id, amount, balance_after, previous, count in cursor.fetchall():
            audit.chain_break_count = count
            audit.chain_breaks.append(
                {
                    "entry_id": entry_id,
                    "wallet_id": wallet_id,
                    "amount": amount,
                    "balance_after": balance_after,
                    "expected_balance_after": previous + amount,
                }
            )
    return audit

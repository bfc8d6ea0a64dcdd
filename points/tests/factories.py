from django.db import connection

from accounts.models import User
from accounts.tests.factories import UserFactory
from points.models import LedgerEntry
from points.services import wallet_credit


def funded_user(balance: int, **user_fields) -> User:
    """A fan whose wallet holds `balance`, funded through the service (one TICKET_REFUND entry,
    which the balance cap does not limit)."""
    user = UserFactory(**user_fields)
    if balance:
        wallet_credit(user=user, amount=balance, reference="test:funding")
    return user


def ledger_entry_insert_raw(*, wallet_id: int, kind: str, amount: int, balance_after: int) -> None:
    """Append an entry behind the service's back (raw SQL), as a bug or a tamperer would."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LedgerEntry._meta.db_table} "
            "(wallet_id, kind, amount, balance_after, reference, idempotency_key, note, created_at) "
            "VALUES (%s, %s, %s, %s, '', '', '', NOW())",
            [wallet_id, kind, amount, balance_after],
        )

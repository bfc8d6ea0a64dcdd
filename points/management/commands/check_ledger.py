from django.core.management.base import BaseCommand, CommandError, CommandParser

from points.selectors import ledger_audit


class Command(BaseCommand):
    help = (
        "Verify every wallet against its ledger: balance == sum of entries == last balance_after, and "
        "an unbroken balance_after chain. Prints a summary; exits non-zero on any mismatch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-details", type=int, default=50, help="Mismatches listed of each kind.")

    def handle(self, *args, max_details: int, **options) -> None:
        audit = ledger_audit(max_details=max_details)
        for row in audit.balance_mismatches:
            self.stderr.write(
                "BALANCE MISMATCH wallet={wallet_id} user={user_id} balance={balance} ledger_sum={ledger_sum} "
                "last_balance_after={last_balance_after} entries={entries}".format(**row)
            )
        for row in audit.chain_breaks:
            self.stderr.write(
                "CHAIN BREAK wallet={wallet_id} entry={entry_id} amount={amount} balance_after={balance_after} "
                "expected={expected_balance_after}".format(**row)
            )
        summary = (
            f"check_ledger: {audit.wallets} wallets, {audit.entries} entries, "
            f"{audit.balance_mismatch_count} balance mismatches, {audit.chain_break_count} chain breaks"
        )
        if not audit.ok:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(f"{summary}: OK"))

from django.core.management.base import BaseCommand, CommandError

from reservations.selectors import inventory_check


class Command(BaseCommand):
    help = "Verify no seat is sold or held twice and every ticket matches the ledger; exit 1 on any breach."

    def handle(self, *args, **options) -> None:
        report = inventory_check()
        seats = ", ".join(f"{status} {n}" for status, n in sorted(report.seats.items())) or "none"
        reservations = ", ".join(f"{status} {n}" for status, n in sorted(report.reservations.items())) or "none"
        self.stdout.write(f"seats: {seats}")
        self.stdout.write(f"reservations: {reservations}")
        if not report.ok:
            for line in report.breaches:
                self.stderr.write(f"BREACH {line}")
            raise CommandError(f"check_inventory: {len(report.breaches)} kind(s) of breach")
        self.stdout.write(self.style.SUCCESS("check_inventory: OK (no seat sold or held twice, ledger matches)"))

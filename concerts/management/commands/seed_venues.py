from django.core.management.base import BaseCommand

from concerts.services import venues_seed


class Command(BaseCommand):
    help = "Create the SPEC's three venues with their seat layouts (idempotent)."

    def handle(self, *args, **options) -> None:
        for item in venues_seed():
            state = "created" if item.created else "exists"
            self.stdout.write(f"{item.venue.name}: {item.seats} seats ({state})")

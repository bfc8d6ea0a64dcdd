from django.core.management.base import BaseCommand, CommandParser

from accounts.services import organization_get_or_create
from concerts.services import DEFAULT_ORGANIZATION, venues_seed


class Command(BaseCommand):
    help = "Create the SPEC's three venues with their seat layouts (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organization",
            default=DEFAULT_ORGANIZATION,
            help=f"whose venues they are, by name (made if missing; default {DEFAULT_ORGANIZATION!r})",
        )

    def handle(self, *args, **options) -> None:
        organization = organization_get_or_create(name=options["organization"])
        for item in venues_seed(organization=organization):
            state = "created" if item.created else "exists"
            self.stdout.write(f"{item.venue.name}: {item.seats} seats ({state}), {item.venue.organization}")

from django.core.management.base import BaseCommand
from django.utils import timezone

from concerts.services import DEMO_FAN_POINTS, DEMO_PASSWORD, DEMO_PIN, demo_fans_fund, demo_seed


class Command(BaseCommand):
    help = "Demo data for scripts/run: venues, organizer, fans, and next month's concert open for booking now."

    def handle(self, *args, **options) -> None:
        result = demo_seed()
        demo_fans_fund(fans=result.fans)

        def state(created: bool) -> str:
            return "created" if created else "exists"

        self.stdout.write(f"organization {result.organization.name} (the demo organizer works for it)")
        for item in result.venues:
            self.stdout.write(f"venue     {item.venue.name}: {item.seats} seats ({state(item.created)})")
        self.stdout.write(
            f"organizer {result.organizer.phone} / {DEMO_PASSWORD} (staff, Organizers group) "
            f"({state(result.organizer_created)})"
        )
        for fan, created in result.fans:
            points = f", {DEMO_FAN_POINTS:,} points" if created else ""
            self.stdout.write(f"fan       {fan.phone} / {DEMO_PASSWORD}, PIN {DEMO_PIN} ({state(created)}{points})")
        shows = result.shows.created + result.shows.existing
        first = min((s.booking_opens_at for s in shows), default=None)
        opens = f"booking opens {timezone.localtime(first):%Y-%m-%d %H:%M}" if first else "no shows"
        self.stdout.write(
            f"concert   #{result.concert.pk} {result.concert} ({state(result.concert_created)}): "
            f"{len(result.shows.created)} show(s) created, {len(result.shows.existing)} already there; {opens}"
        )

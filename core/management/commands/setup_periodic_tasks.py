"""Writes the Celery beat schedule (django-celery-beat) from code; safe to run again."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask


def periodic_tasks() -> list[tuple[str, str, float]]:
    """(name, task, every N seconds) for every periodic job of the service."""
    return [
        ("queue: promote waiting fans", "queueing.tasks.promote_all", settings.QUEUE_PROMOTION_INTERVAL_SECONDS),
        ("reservations: expire holds", "reservations.tasks.expire_holds", settings.HOLD_EXPIRY_INTERVAL_SECONDS),
        (
            "reservations: confirm paid bookings",
            "reservations.tasks.send_booking_confirmations",
            settings.BOOKING_CONFIRMATION_INTERVAL_SECONDS,
        ),
    ]


class Command(BaseCommand):
    help = "Create or update the periodic Celery tasks (beat schedule) in the database."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for name, task, seconds in periodic_tasks():
            # IntervalSchedule counts whole seconds. A tick not started within a few periods is
            # dropped (expire_seconds): the next one does the same work, so a backlog never piles up.
            every = max(1, round(seconds))
            schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
            PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": schedule, "enabled": True, "expire_seconds": every * 5}
            )
            self.stdout.write(f"scheduled {task} every {every}s")

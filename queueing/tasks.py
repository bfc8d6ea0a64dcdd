from celery import shared_task
from django.conf import settings

from queueing.services import queue_promote_all


@shared_task(
    name="queueing.tasks.promote_all",
    ignore_result=True,
    time_limit=settings.QUEUE_PROMOTION_TIME_LIMIT_SECONDS,
    soft_time_limit=settings.QUEUE_PROMOTION_TIME_LIMIT_SECONDS * 0.8,
)
def promote_all() -> int:
    """For every concert on sale (beat, every QUEUE_PROMOTION_INTERVAL_SECONDS): at the opening,
    place the pre-queue in the line in its random order (once); expire ended sessions, prune
    waiting fans who stopped polling, and admit waiting fans within the active size and the
    per-minute cap. Safe to run any number of times at once: each concert's step is one atomic
    script. Returns how many were admitted."""
    return sum(result.admitted for result in queue_promote_all())

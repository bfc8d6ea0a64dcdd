from celery import shared_task

from reservations.services import reservation_expire_due


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=60)
def expire_holds() -> int:
    """Beat job: close holds whose time has passed. Idempotent; safe on several workers."""
    return reservation_expire_due()

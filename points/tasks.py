from smtplib import SMTPException

from celery import shared_task

from points import notices


@shared_task(
    name="points.tasks.send_charge_receipt",
    ignore_result=True,
    soft_time_limit=30,
    time_limit=60,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
)
def send_charge_receipt(entry_id: int) -> bool:
    """Mail the fan the receipt of a charge (enqueued when the charge commits). Idempotent."""
    return notices.charge_receipt_send(entry_id=entry_id)

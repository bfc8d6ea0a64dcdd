from celery import shared_task

from core.mail import mail_task
from reservations import notices, services


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=60)
def expire_holds() -> int:
    """Beat job: close holds whose time has passed. Idempotent; safe on several workers."""
    return services.reservation_expire_due()


@mail_task("reservations.tasks.send_show_cancelled_notice")
def send_show_cancelled_notice(refund_id: int) -> bool:
    """Tell a fan their show was cancelled (enqueued by show_cancel after the refund commits).
    Idempotent: a notice already sent is not sent again."""
    return notices.show_cancelled_notice_send(refund_id=refund_id)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def send_booking_confirmations() -> int:
    """Beat job: mail the paid bookings not confirmed yet. Idempotent; safe on several workers."""
    return notices.booking_confirmations_send_due()


@mail_task("reservations.tasks.send_refund_notice")
def send_refund_notice(refund_id: int) -> bool:
    """Mail the fan their refund (enqueued when a refund commits). Idempotent."""
    return notices.refund_notice_send(refund_id=refund_id)

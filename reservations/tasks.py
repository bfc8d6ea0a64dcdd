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


@mail_task("reservations.tasks.send_booking_confirmation")
def send_booking_confirmation(reservation_id: int) -> bool:
    """Mail the fan their booking (enqueued when a payment commits). Idempotent."""
    return notices.booking_confirmation_send(reservation_id=reservation_id)


@mail_task("reservations.tasks.send_refund_notice")
def send_refund_notice(refund_id: int) -> bool:
    """Mail the fan their refund (enqueued when a refund commits). Idempotent."""
    return notices.refund_notice_send(refund_id=refund_id)

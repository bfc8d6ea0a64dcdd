from core.mail import mail_task
from points import notices


@mail_task("points.tasks.send_charge_receipt")
def send_charge_receipt(entry_id: int) -> bool:
    """Mail the fan the receipt of a charge (enqueued when the charge commits). Idempotent."""
    return notices.charge_receipt_send(entry_id=entry_id)

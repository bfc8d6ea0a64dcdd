"""Receipts of charges by e-mail (Django's e-mail framework: EMAIL_* settings), in the fan's
language, sent by a Celery task enqueued after the charge commits (points.tasks)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import clock
from core.mail import in_language_of, mail_fan
from points.models import ChargeReceipt, LedgerEntry


@transaction.atomic
def charge_receipt_send(*, entry_id: int) -> bool:
    """Mail the fan the receipt of a charge, once: the receipt row is written first, so a second
    run of the task finds it (or waits for the first run's commit) and sends nothing, and a mail
    that fails rolls the row back for the task's retry. False when there is nothing to send
    (not a charge, already sent, or the fan has no e-mail)."""
    entry = LedgerEntry.objects.select_related("wallet__user").filter(pk=entry_id, kind=LedgerEntry.Kind.CHARGE).first()
    if entry is None or not entry.wallet.user.email:
        return False
    _receipt, created = ChargeReceipt.objects.get_or_create(entry=entry, defaults={"sent_at": clock.now()})
    if not created:
        return False
    fan = entry.wallet.user
    with in_language_of(fan):
        facts = {
            "name": fan.name,
            "amount": f"{entry.amount:,}",
            "balance": f"{entry.balance_after:,}",
            "at": f"{timezone.localtime(entry.created_at):%Y-%m-%d %H:%M}",
        }
        subject = _("Points charged: %(amount)s") % facts
        paragraphs = [
            _("Dear %(name)s,") % facts,
            _("%(amount)s points were charged to your wallet on %(at)s. Your balance is %(balance)s points.") % facts,
            _("— Stagegate"),
        ]
    mail_fan(fan, subject=subject, paragraphs=paragraphs)
    return True

"""Receipts of charges by e-mail (Django's e-mail framework: EMAIL_* settings), in the fan's
language, sent by a Celery task enqueued after the charge commits (points.tasks)."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.clock import clock
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
    with translation.override(fan.language or settings.LANGUAGE_CODE):
        facts = {
            "name": fan.name,
            "amount": f"{entry.amount:,}",
            "balance": f"{entry.balance_after:,}",
            "at": f"{timezone.localtime(entry.created_at):%Y-%m-%d %H:%M}",
        }
        subject = _("Points charged: %(amount)s") % facts
        body = "\n\n".join(
            [
                _("Dear %(name)s,") % facts,
                _("%(amount)s points were charged to your wallet on %(at)s. Your balance is %(balance)s points.")
                % facts,
                _("— Stagegate"),
            ]
        )
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [fan.email])
    return True

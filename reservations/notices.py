"""Notices to fans by e-mail (Django's e-mail framework: EMAIL_* settings), in the fan's language.

Sent by Celery tasks enqueued after the commit of what they tell (reservations.tasks); each is
idempotent: a notice already sent is not sent again when its task runs twice.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.clock import clock
from reservations.models import TicketRefund


@transaction.atomic
def show_cancelled_notice_send(*, refund_id: int) -> bool:
    """Tell the fan that their show was cancelled and their tickets refunded (one mail per refund
    of a cancelled show). The refund row stays locked while the mail goes out, so two runs of the
    task send it once. False when there is nothing to send: already sent, or the fan has no
    e-mail (the admin's cancel lists those fans for the organizer to call)."""
    refund = (
        TicketRefund.objects.select_for_update(of=("self",))
        .select_related("reservation__show__concert", "reservation__user")
        .filter(pk=refund_id, show_cancelled=True, notified_at__isnull=True)
        .first()
    )
    if refund is None or not refund.reservation.user.email:
        return False
    reservation = refund.reservation
    fan, show = reservation.user, reservation.show
    with translation.override(fan.language or settings.LANGUAGE_CODE):
        facts = {
            "name": fan.name,
            "concert": show.concert.title,
            "starts": f"{timezone.localtime(show.starts_at):%Y-%m-%d %H:%M}",
            "number": reservation.booking_number,
            "amount": f"{refund.amount:,}",
        }
        subject = _("Cancelled: %(concert)s, %(starts)s") % facts
        body = "\n\n".join(
            [
                _("Dear %(name)s,") % facts,
                _("The show %(concert)s on %(starts)s has been cancelled.") % facts,
                _("Booking %(number)s: %(amount)s points were refunded to your wallet in full.") % facts,
                _("We are sorry. — Stagegate"),
            ]
        )
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [fan.email])
    refund.notified_at = clock.now()
    refund.save(update_fields=["notified_at"])
    return True

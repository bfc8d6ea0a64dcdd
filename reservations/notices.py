"""Notices to fans by e-mail (Django's e-mail framework: EMAIL_* settings), in the fan's language.

Sent by Celery tasks (reservations.tasks); each is idempotent: a notice already sent is not sent
again when its task runs twice. Refunds and cancellations enqueue their task after their commit.
Booking confirmations are swept instead: a payment only commits the paid reservation, which stays
due until its confirmation is mailed (`confirmation_sent_at`), so the rush's payments publish no
task, and a confirmation lost to a crash or a mail server outage goes out with a later sweep.
"""

import logging
from datetime import timedelta
from smtplib import SMTPException

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import clock
from core.mail import in_language_of, mail_fan
from reservations.models import Reservation, ReservationStatus, TicketRefund

logger = logging.getLogger(__name__)


@transaction.atomic
def show_cancelled_notice_send(*, refund_id: int) -> bool:
    """Tell the fan that their show was cancelled and their tickets refunded (one mail per refund
    of a cancelled show). The refund row stays locked while the mail goes out, so two runs of the
    task send it once. False when there is nothing to send: already sent, or the fan has no
    e-mail (the admin's cancel lists those fans for the organizer to call)."""
    refund = _refund_to_notify(refund_id=refund_id, show_cancelled=True)
    if refund is None:
        return False
    reservation = refund.reservation
    fan = reservation.user
    with in_language_of(fan):
        facts = {**_booking_facts(reservation), "amount": f"{refund.amount:,}"}
        subject = _("Cancelled: %(concert)s, %(starts)s") % facts
        paragraphs = [
            _("Dear %(name)s,") % facts,
            _("The show %(concert)s on %(starts)s has been cancelled.") % facts,
            _("Booking %(number)s: %(amount)s points were refunded to your wallet in full.") % facts,
            _("We are sorry. — Stagegate"),
        ]
    mail_fan(fan, subject=subject, paragraphs=paragraphs)
    refund.notified_at = clock.now()
    refund.save(update_fields=["notified_at"])
    return True


def _refund_to_notify(*, refund_id: int, show_cancelled: bool) -> TicketRefund | None:
    """The refund, locked until the caller's transaction ends (two runs of a task send once), if
    its notice of this kind is still to be sent and the fan has an e-mail."""
    refund = (
        TicketRefund.objects.select_for_update(of=("self",))
        .select_related("reservation__show__concert", "reservation__user")
        .filter(pk=refund_id, show_cancelled=show_cancelled, notified_at__isnull=True)
        .first()
    )
    return refund if refund is not None and refund.reservation.user.email else None


def _booking_facts(reservation: Reservation) -> dict[str, str]:
    """What every notice names (call it in the fan's language: the title is localized)."""
    show = reservation.show
    return {
        "name": reservation.user.name,
        "concert": show.concert.title_localized,
        "starts": f"{timezone.localtime(show.starts_at):%Y-%m-%d %H:%M}",
        "number": reservation.booking_number,
    }


def _seat_labels(reservation: Reservation, *, refund: TicketRefund | None = None) -> str:
    """The seats the booking paid for, or those a refund gave back."""
    seats = reservation.seats.filter(refund=refund) if refund else reservation.seats.all()
    return ", ".join(seat.show_seat.label for seat in seats.select_related("show_seat").order_by("show_seat_id"))


def booking_confirmations_send_due() -> int:
    """Mail every paid booking not confirmed yet whose fan has an e-mail, oldest first, at most
    BOOKING_CONFIRMATION_BATCH (the next sweep takes the rest); how many were sent. While the mail
    server fails, the sweep stops and its bookings stay due: each later sweep tries again, until a
    booking is BOOKING_CONFIRMATION_MAX_AGE_HOURS old. A fan who adds an e-mail within that time
    gets the confirmation then."""
    paid_since = clock.now() - timedelta(hours=settings.BOOKING_CONFIRMATION_MAX_AGE_HOURS)
    due = (
        Reservation.objects.filter(
            status=ReservationStatus.CONFIRMED, confirmation_sent_at__isnull=True, confirmed_at__gte=paid_since
        )
        .exclude(user__email="")
        .order_by("confirmed_at", "pk")
        .values_list("pk", flat=True)[: settings.BOOKING_CONFIRMATION_BATCH]
    )
    sent = 0
    for reservation_id in due:
        try:
            sent += booking_confirmation_send(reservation_id=reservation_id)
        except (SMTPException, OSError):
            logger.warning("booking confirmations: the mail server failed; the next sweep tries again", exc_info=True)
            break
    return sent


@transaction.atomic
def booking_confirmation_send(*, reservation_id: int) -> bool:
    """Confirm a paid booking to the fan: concert, show, seats, booking number, amount. The
    reservation stays locked while the mail goes out, so it is sent once however many sweeps run
    (one that finds it locked skips it). False when there is nothing to send (already sent, not
    paid, locked by another sweep, or the fan has no e-mail)."""
    reservation = (
        Reservation.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("show__concert", "show__venue", "user")
        .filter(pk=reservation_id, status=ReservationStatus.CONFIRMED, confirmation_sent_at__isnull=True)
        .first()
    )
    if reservation is None or not reservation.user.email:
        return False
    fan = reservation.user
    with in_language_of(fan):
        facts = {
            **_booking_facts(reservation),
            "venue": reservation.show.venue.name_localized,
            "seats": _seat_labels(reservation),
            "amount": f"{reservation.amount:,}",
        }
        subject = _("Booked: %(concert)s, %(starts)s (%(number)s)") % facts
        paragraphs = [
            _("Dear %(name)s,") % facts,
            _("Your booking %(number)s is confirmed: %(concert)s, %(starts)s, %(venue)s.") % facts,
            _("Seats: %(seats)s. Paid: %(amount)s points.") % facts,
            _("Your tickets and their QR codes are under My tickets. — Stagegate"),
        ]
    mail_fan(fan, subject=subject, paragraphs=paragraphs)
    reservation.confirmation_sent_at = clock.now()
    reservation.save(update_fields=["confirmation_sent_at"])
    return True


@transaction.atomic
def refund_notice_send(*, refund_id: int) -> bool:
    """Confirm a refund the fan (or an organizer on their behalf) made: which seats, how many
    points back. Sent once, as above; a cancelled show's refunds have their own notice."""
    refund = _refund_to_notify(refund_id=refund_id, show_cancelled=False)
    if refund is None:
        return False
    reservation = refund.reservation
    fan = reservation.user
    with in_language_of(fan):
        facts = {
            **_booking_facts(reservation),
            "seats": _seat_labels(reservation, refund=refund),
            "amount": f"{refund.amount:,}",
        }
        subject = _("Refunded: %(concert)s, %(starts)s (%(number)s)") % facts
        paragraphs = [
            _("Dear %(name)s,") % facts,
            _("Seats %(seats)s of booking %(number)s were refunded: %(amount)s points are back in your wallet.")
            % facts,
            _("— Stagegate"),
        ]
    mail_fan(fan, subject=subject, paragraphs=paragraphs)
    refund.notified_at = clock.now()
    refund.save(update_fields=["notified_at"])
    return True

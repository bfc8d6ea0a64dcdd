"""Holds and tickets.

A Reservation is one fan's hold on one or more seats of a show; paid, it is their tickets. Each
seat of it is a ReservationSeat. The seat row that is locked is concerts.ShowSeat; the partial
unique index on ReservationSeat(show_seat) WHERE active backs up in the database that a seat is
in at most one live hold or ticket at a time.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from concerts.models import Show, ShowSeat


class ReservationStatus(models.TextChoices):
    HELD = "HELD", _("held, awaiting payment")
    CONFIRMED = "CONFIRMED", _("paid")
    EXPIRED = "EXPIRED", _("hold expired unpaid")
    RELEASED = "RELEASED", _("released after failed payments")
    REFUNDED = "REFUNDED", _("refunded")


class Reservation(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations")
    show = models.ForeignKey(Show, on_delete=models.PROTECT, related_name="reservations")
    status = models.CharField(
        _("status"), max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.HELD
    )
    amount = models.PositiveBigIntegerField(_("amount (won)"))
    # How many seats the hold took (its seat rows stay when a takeover or a refund marks them
    # inactive): a payment that finds fewer still active lost a seat to a takeover.
    seats_held_with = models.PositiveIntegerField(_("seats held"), default=0)
    hold_expires_at = models.DateTimeField(_("hold expires at"))
    failed_payment_attempts = models.PositiveIntegerField(_("failed payment attempts"), default=0)
    created_at = models.DateTimeField(_("created at"))
    confirmed_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("expired, released or refunded at"), null=True, blank=True)
    # The booking confirmation mailed to the fan (reservations.notices): sent once. A paid booking
    # without it is the outbox the confirmation sweep reads.
    confirmation_sent_at = models.DateTimeField(_("confirmation mailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "hold_expires_at"], name="reservation_status_expiry"),
            models.Index(fields=["user", "show", "status"], name="reservation_user_show"),
            # The paid bookings whose confirmation is still to be mailed (reservations.notices).
            models.Index(
                fields=["confirmed_at"],
                condition=models.Q(status=ReservationStatus.CONFIRMED, confirmation_sent_at__isnull=True),
                name="reservation_confirmation_due",
            ),
        ]
        permissions = [("refund_reservation", "Can refund tickets on a fan's behalf")]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")

    def __str__(self) -> str:
        return f"Reservation {self.pk} ({self.status})"

    @property
    def booking_number(self) -> str:
        """What the fan quotes to the box office and sees on every ticket."""
        return f"SG{self.pk:08d}"

    @property
    def ledger_reference(self) -> str:
        """How the points ledger names this reservation (payment debit, refund credits)."""
        return f"reservation:{self.pk}"


class TicketStatus(models.TextChoices):
    """A reserved seat as the fan sees it: holds or owns the seat, let go of it, or refunded."""

    ACTIVE = "ACTIVE", _("active")
    RELEASED = "RELEASED", _("released")
    REFUNDED = "REFUNDED", _("refunded")


class ReservationSeat(models.Model):
    """One seat of a reservation, at the price it was held for. `active` while it is held or sold."""

    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, related_name="seats")
    show_seat = models.ForeignKey(ShowSeat, on_delete=models.PROTECT, related_name="reservation_seats")
    price = models.PositiveIntegerField(_("price (won)"))
    active = models.BooleanField(_("holds or owns the seat"), default=True)
    refund = models.ForeignKey(
        "TicketRefund", on_delete=models.PROTECT, null=True, blank=True, related_name="seats", verbose_name=_("refund")
    )
    # Door check-in (reservations.tickets): set once, when a door first admits the ticket.
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked in by"),
    )

    class Meta:
        ordering = ["reservation", "show_seat"]
        permissions = [("checkin_reservationseat", "Can check tickets in at the door")]
        constraints = [
            models.UniqueConstraint(
                fields=["show_seat"], condition=models.Q(active=True), name="reservation_seat_one_live_per_seat"
            ),
            models.UniqueConstraint(fields=["reservation", "show_seat"], name="reservation_seat_unique"),
        ]
        verbose_name = _("reserved seat")
        verbose_name_plural = _("reserved seats")

    def __str__(self) -> str:
        return f"{self.show_seat} of reservation {self.reservation_id}"


class PaymentAttempt(models.Model):
    """Every payment try, with its answer: an audit trail and the store for Idempotency-Key replays."""

    class Outcome(models.TextChoices):
        CONFIRMED = "CONFIRMED", _("paid")
        WRONG_PIN = "WRONG_PIN", _("wrong PIN")
        INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE", _("too little balance")
        PAYMENT_ATTEMPTS_EXCEEDED = "PAYMENT_ATTEMPTS_EXCEEDED", _("too many failures, hold released")

    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, related_name="payment_attempts")
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices)
    amount = models.PositiveBigIntegerField(_("amount charged (won)"), default=0)
    balance_after = models.BigIntegerField(_("balance after"), null=True, blank=True)
    attempts_left = models.PositiveIntegerField(_("attempts left"), default=0)
    idempotency_key = models.CharField(_("Idempotency-Key"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="payment_attempt_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["reservation"], condition=models.Q(outcome="CONFIRMED"), name="payment_attempt_paid_once"
            ),
        ]
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")

    def __str__(self) -> str:
        return f"{self.outcome} for reservation {self.reservation_id}"


class TicketRefund(models.Model):
    """One refund of some or all tickets of a reservation, by the fan or an organizer."""

    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveBigIntegerField(_("amount credited (won)"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("refunded by")
    )
    created_at = models.DateTimeField(_("at"))
    # Refunds of a cancelled show (reservations.services.show_cancel) tell the fan: set once the
    # notice is sent (reservations.notices), so a repeated task sends nothing twice.
    show_cancelled = models.BooleanField(_("show cancelled"), default=False)
    notified_at = models.DateTimeField(_("fan told at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ticket refund")
        verbose_name_plural = _("ticket refunds")

    def __str__(self) -> str:
        return f"Refund of {self.amount} for reservation {self.reservation_id}"

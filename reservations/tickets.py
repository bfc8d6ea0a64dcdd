"""Tickets and door check-in.

Each paid seat (an active reservation seat of a CONFIRMED reservation) is a ticket. Its code, the
text of the QR on the fan's ticket page, is `<ticket id>-<signature>`: the signature is an HMAC
with SECRET_KEY, so only the server can make a valid code, yet the code stays short enough to type
at a door whose camera fails. A door check-in admits a ticket once, whichever door scans it first.

Locking: a check-in locks only the ticket's own row. Holds, payments and refunds lock in the order
user -> seats -> wallet and then write reservation seats; a check-in waits for at most that one
row and holds no other lock, so it cannot deadlock with them, and two doors scanning the same code
queue on the row: the first admits, the second answers ALREADY_USED.
"""

import enum
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User
from accounts.selectors import user_acts_for
from concerts.models import Show
from core.clock import clock
from core.exceptions import NotPermitted
from reservations.models import ReservationSeat, ReservationStatus

# 12 hex digits = 48 bits: guessing a valid code takes ~10^14 tries, against a door that a person
# operates. Changing the length invalidates every ticket issued.
_SIGNATURE_HEX_DIGITS = 12
_SIGNING_SALT = "stagegate.reservations.ticket"
CHECK_IN_PERMISSION = "reservations.checkin_reservationseat"


class CheckInNotPermitted(NotPermitted):
    message = "Only door staff may check tickets in."


class CheckInOutcome(enum.StrEnum):
    ADMITTED = "ADMITTED"
    ALREADY_USED = "ALREADY_USED"
    REFUNDED = "REFUNDED"
    NOT_PAID = "NOT_PAID"  # a hold that was never paid, or ended
    OTHER_SHOW = "OTHER_SHOW"
    INVALID = "INVALID"  # not a code this server made


@dataclass(frozen=True)
class CheckIn:
    outcome: CheckInOutcome
    ticket: ReservationSeat | None = None

    @property
    def admitted(self) -> bool:
        return self.outcome == CheckInOutcome.ADMITTED


def _signature(ticket_id: int) -> str:
    return salted_hmac(_SIGNING_SALT, str(ticket_id), algorithm="sha256").hexdigest()[:_SIGNATURE_HEX_DIGITS]


def ticket_code(*, ticket: ReservationSeat) -> str:
    """The ticket's code: what its QR carries and what a door types when scanning fails."""
    return f"{ticket.pk}-{_signature(ticket.pk)}"


def ticket_is_valid(*, ticket: ReservationSeat) -> bool:
    """A paid seat not refunded: one that gets in at the door (if not used yet)."""
    return ticket.active and ticket.reservation.status == ReservationStatus.CONFIRMED


def _ticket_id_from_code(code: str) -> int | None:
    ticket_id, _, signature = code.strip().lower().partition("-")
    if not ticket_id.isascii() or not ticket_id.isdigit() or len(ticket_id) > 18:
        return None
    if not constant_time_compare(signature, _signature(int(ticket_id))):
        return None
    return int(ticket_id)


def ticket_check_in(*, code: str, show: Show, actor: User, now: datetime | None = None) -> CheckIn:
    """Admit the ticket of `code` at a door of `show`, once. Every other answer says why not.
    Door staff check in only at the shows of the organizations they work for."""
    if not actor.is_active or not actor.has_perm(CHECK_IN_PERMISSION):
        raise CheckInNotPermitted()
    if not user_acts_for(user=actor, organization_id=show.concert.organization_id):
        raise CheckInNotPermitted("Door staff check tickets in only at their own organization's shows.")
    ticket_id = _ticket_id_from_code(code)
    if ticket_id is None:
        return CheckIn(CheckInOutcome.INVALID)
    now = now or clock.now()
    with transaction.atomic():
        ticket = (
            ReservationSeat.objects.select_for_update(of=("self",))
            .select_related("reservation__user", "show_seat", "checked_in_by")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None:
            return CheckIn(CheckInOutcome.INVALID)
        if ticket.reservation.show_id != show.pk:
            outcome = CheckInOutcome.OTHER_SHOW
        elif ticket.refund_id is not None:
            outcome = CheckInOutcome.REFUNDED
        elif not ticket_is_valid(ticket=ticket):
            outcome = CheckInOutcome.NOT_PAID
        elif ticket.checked_in_at is not None:
            outcome = CheckInOutcome.ALREADY_USED
        else:
            ticket.checked_in_at = now
            ticket.checked_in_by = actor
            ticket.save(update_fields=["checked_in_at", "checked_in_by"])
            outcome = CheckInOutcome.ADMITTED
    return CheckIn(outcome, ticket)


@dataclass(frozen=True)
class DoorCounts:
    tickets: int
    checked_in: int


def show_door_counts(*, show: Show) -> DoorCounts:
    """Valid tickets of the show and how many of them came in."""
    valid = Q(active=True, reservation__status=ReservationStatus.CONFIRMED)
    counts = ReservationSeat.objects.filter(valid, reservation__show=show).aggregate(
        tickets=Count("pk"), checked_in=Count("pk", filter=Q(checked_in_at__isnull=False))
    )
    return DoorCounts(**counts)

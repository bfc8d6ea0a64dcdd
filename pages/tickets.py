"""My tickets, and refunding them after a confirmation."""

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.clock import clock
from core.exceptions import ValidationFailed
from core.money import won_format
from pages.common import fan_required
from pages.forms import RefundForm
from reservations.exceptions import AlreadyRefunded, NotRefundable, RefundWindowClosed, ReservationNotFound
from reservations.models import ReservationStatus
from reservations.selectors import refund_preview, reservation_list_for_user
from reservations.services import refund_deadline, reservation_is_payable, reservation_is_refundable, reservation_refund


@fan_required
def tickets(request: HttpRequest) -> HttpResponse:
    now = clock.now()
    groups: dict[str, list] = {"held": [], "confirmed": [], "refunded": [], "ended": []}
    for reservation in reservation_list_for_user(user=request.user):
        deadline = refund_deadline(reservation)
        item = {
            "reservation": reservation,
            "seats": list(reservation.seats.all()),
            "refund_deadline": deadline,
            "refundable": reservation_is_refundable(reservation=reservation, now=now),
        }
        if reservation.status == ReservationStatus.CONFIRMED:
            groups["confirmed"].append(item)
        elif reservation.status == ReservationStatus.REFUNDED:
            groups["refunded"].append(item)
        elif reservation_is_payable(reservation=reservation):
            groups["held"].append(item)
        else:
            groups["ended"].append(item)
    return render(request, "pages/tickets.html", {"groups": groups})


@fan_required
@require_http_methods(["GET", "POST"])
def ticket_refund(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """GET: what the refund gives back and until when, to confirm; POST: refund."""
    form = RefundForm(request.POST if request.method == "POST" else request.GET)
    if request.method == "GET":
        seat_id = form.cleaned_data.get("seat_id") if form.is_valid() else None
        preview = refund_preview(user=request.user, reservation_id=reservation_id, seat_id=seat_id)
        if preview is None:
            raise Http404
        return render(request, "pages/refund_confirm.html", {"preview": preview, "seat_id": seat_id})
    if not form.is_valid():
        messages.error(request, _("Choose the tickets to refund."))
        return redirect("pages:tickets")
    seat_id = form.cleaned_data.get("seat_id")
    try:
        result = reservation_refund(
            actor=request.user, reservation_id=reservation_id, seat_ids=[seat_id] if seat_id else None
        )
    except RefundWindowClosed as exc:
        deadline = exc.extra.get("refund_deadline")
        text = _("The refund period for this show has ended, so these tickets can no longer be refunded.")
        if deadline:
            shown = datetime.fromisoformat(deadline)
            text += " " + _("Refunds were possible until %(deadline)s.") % {
                "deadline": formats.date_format(timezone.localtime(shown), "DATETIME_FORMAT")
            }
        messages.error(request, text)
    except AlreadyRefunded:
        messages.error(request, _("These tickets are already refunded."))
    except (NotRefundable, ReservationNotFound):
        messages.error(request, _("Only paid tickets can be refunded."))
    except ValidationFailed:
        messages.error(request, _("Choose the tickets to refund."))
    else:
        messages.success(
            request,
            _("Refunded %(amount)s to your points. Your balance is now %(balance)s.")
            % {"amount": won_format(result.refund.amount), "balance": won_format(result.balance)},
        )
    return redirect("pages:tickets")

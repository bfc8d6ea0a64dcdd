"""Paying a hold with the PIN; every refusal says what happened and what to do next."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.exceptions import PinAttemptsLimited
from core.exception_handlers import refusal_headers_set
from core.money import won_format
from pages.booking import payment_session_ok
from pages.common import fan_required, not_admitted, outage_page, too_many_pins
from pages.forms import PinForm
from points.selectors import wallet_balance
from reservations.exceptions import (
    AlreadyPaid,
    HoldExpired,
    PaymentAttemptsExceeded,
    PaymentInsufficientBalance,
    WrongPin,
)
from reservations.models import Reservation, ReservationStatus
from reservations.selectors import reservation_get_for_user, reservation_seconds_left_to_pay
from reservations.services import reservation_is_payable, reservation_pay


def _payment_state(reservation: Reservation) -> str:
    if reservation.status == ReservationStatus.RELEASED:
        return "released"
    if reservation_is_payable(reservation=reservation):
        return "payable"
    if reservation.status in (ReservationStatus.HELD, ReservationStatus.EXPIRED):
        return "expired"
    return "closed"


@fan_required
@require_http_methods(["GET", "POST"])
@never_cache  # the browser's Back after paying must ask the server again, not show a live-looking form
@outage_page
def payment(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = reservation_get_for_user(user=request.user, reservation_id=reservation_id)
    if reservation is None:
        raise Http404
    if reservation.status in (ReservationStatus.CONFIRMED, ReservationStatus.REFUNDED):
        messages.info(request, _("This reservation is already paid."))
        return redirect("pages:tickets")
    concert = reservation.show.concert
    state = _payment_state(reservation)
    if state == "payable" and not payment_session_ok(request, concert.pk):
        return not_admitted(request, concert.pk)

    form = PinForm(request.POST if request.method == "POST" else None) if state == "payable" else None
    status, error, attempts_left, refusal = 200, None, None, None
    if request.method == "POST" and form is None:  # submitted after the hold ended
        status = 422 if state == "released" else 410
    if request.method == "POST" and form is not None:
        status = 400
        if form.is_valid():
            try:
                result = reservation_pay(
                    user=request.user,
                    reservation_id=reservation.pk,
                    pin=form.cleaned_data["pin"],
                    idempotency_key=form.cleaned_data.get("idempotency_key") or None,
                )
            except WrongPin as exc:
                attempts_left = exc.extra.get("attempts_left")
                error, status = _("The payment PIN is wrong."), 422
            except PaymentInsufficientBalance as exc:
                attempts_left = exc.extra.get("attempts_left")
                error, status = "insufficient_balance", 402
            except PinAttemptsLimited as exc:
                refusal = exc  # its Retry-After goes on the page
                error, status = too_many_pins(int(exc.extra["retry_after_seconds"])), exc.status
            except PaymentAttemptsExceeded:
                state, status = "released", 422
            except HoldExpired:
                state, status = "expired", 410
            except AlreadyPaid:
                return redirect("pages:tickets")
            else:
                messages.success(
                    request,
                    _("Paid %(amount)s. Your balance is now %(balance)s. Enjoy the show!")
                    % {"amount": won_format(result.paid_amount), "balance": won_format(result.balance)},
                )
                return redirect("pages:tickets")
            form = PinForm() if state == "payable" else None  # a fresh key for the next try
        reservation = reservation_get_for_user(user=request.user, reservation_id=reservation.pk)

    balance = wallet_balance(user=request.user)
    seconds_left = reservation_seconds_left_to_pay(reservation=reservation)
    context = {
        "reservation": reservation,
        "concert": concert,
        "show": reservation.show,
        "seats": [seat for seat in reservation.seats.all()],
        "state": state,
        "form": form,
        "error": error,
        "attempts_left": attempts_left,
        "balance": balance,
        "shortfall": max(0, reservation.amount - balance),
        "hold_seconds_left": seconds_left,
        "charge_url": f"{reverse('pages:wallet')}?{urlencode({'next': request.path})}",
    }
    response = render(request, "pages/payment.html", context, status=status)
    return refusal_headers_set(response, refusal) if refusal is not None else response

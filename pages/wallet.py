"""The wallet: balance, charge and withdraw within the limits, and the ledger."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.exceptions import PinAttemptsLimited
from accounts.exceptions import WrongPin as AccountWrongPin
from core.exception_handlers import refusal_headers_set
from core.exceptions import ValidationFailed
from core.money import won_format
from pages.common import fan_required, safe_next, too_many_pins
from pages.forms import AmountForm, WithdrawForm, form_errors_from
from points.exceptions import AmountOutOfRange, BalanceCapExceeded, InsufficientBalance
from points.selectors import ledger_entry_list, wallet_balance
from points.services import wallet_charge, wallet_withdraw
from reservations.selectors import ledger_entry_bookings

LEDGER_PAGE_SIZE = 20


def _wallet_render(request: HttpRequest, *, charge_form=None, withdraw_form=None, status: int = 200) -> HttpResponse:
    page = Paginator(ledger_entry_list(user=request.user), LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    balance = wallet_balance(user=request.user)
    context = {
        "balance": balance,
        "charge_min": settings.WALLET_CHARGE_MIN,
        "charge_max": settings.WALLET_CHARGE_MAX,
        "balance_cap": settings.WALLET_BALANCE_CAP,
        "charge_form": charge_form or AmountForm(prefix="charge"),
        "withdraw_form": withdraw_form or WithdrawForm(prefix="withdraw", balance=balance),
        "page": page,
        "bookings": ledger_entry_bookings(entries=page.object_list),
        "next": safe_next(request, ""),
    }
    return render(request, "pages/wallet.html", context, status=status)


@fan_required
def wallet(request: HttpRequest) -> HttpResponse:
    return _wallet_render(request)


@fan_required
@require_POST
def wallet_charge_view(request: HttpRequest) -> HttpResponse:
    form = AmountForm(request.POST, prefix="charge")
    if not form.is_valid():
        return _wallet_render(request, charge_form=form, status=400)
    try:
        movement = wallet_charge(
            user=request.user,
            amount=form.cleaned_data["amount"],
            idempotency_key=form.cleaned_data.get("idempotency_key") or None,
        )
    except AmountOutOfRange as exc:
        form.add_error(
            "amount",
            _("One charge must be between %(min)s and %(max)s.")
            % {"min": won_format(exc.extra["min"]), "max": won_format(exc.extra["max"])},
        )
        return _wallet_render(request, charge_form=form, status=400)
    except BalanceCapExceeded as exc:
        room = max(0, exc.extra["cap"] - exc.extra["balance"])
        form.add_error(
            "amount",
            _("Your balance may not go over %(cap)s. You can charge at most %(room)s more.")
            % {"cap": won_format(exc.extra["cap"]), "room": won_format(room)},
        )
        return _wallet_render(request, charge_form=form, status=409)
    except ValidationFailed as exc:
        form_errors_from(form, exc, _)
        return _wallet_render(request, charge_form=form, status=400)
    messages.success(
        request,
        _("Charged %(amount)s. Your balance is now %(balance)s.")
        % {"amount": won_format(movement.entry.amount), "balance": won_format(movement.balance)},
    )
    return redirect(safe_next(request, reverse("pages:wallet")))


@fan_required
@require_POST
def wallet_withdraw_view(request: HttpRequest) -> HttpResponse:
    form = WithdrawForm(request.POST, prefix="withdraw", balance=wallet_balance(user=request.user))
    if not form.is_valid():
        return _wallet_render(request, withdraw_form=form, status=400)
    try:
        movement = wallet_withdraw(
            user=request.user,
            amount=form.cleaned_data["amount"],
            pin=form.cleaned_data["pin"],
            idempotency_key=form.cleaned_data.get("idempotency_key") or None,
        )
    except AccountWrongPin:
        form.add_error("pin", _("The payment PIN is wrong."))
        return _wallet_render(request, withdraw_form=form, status=422)
    except PinAttemptsLimited as exc:
        wait = int(exc.extra["retry_after_seconds"])
        form.add_error("pin", too_many_pins(wait))
        return refusal_headers_set(_wallet_render(request, withdraw_form=form, status=exc.status), exc)
    except InsufficientBalance as exc:
        form.add_error(
            "amount",
            _("You can withdraw at most your balance, %(balance)s.") % {"balance": won_format(exc.extra["balance"])},
        )
        return _wallet_render(request, withdraw_form=form, status=409)
    except ValidationFailed as exc:
        form_errors_from(form, exc, _)
        return _wallet_render(request, withdraw_form=form, status=400)
    messages.success(
        request,
        _("Withdrew %(amount)s. Your balance is now %(balance)s.")
        % {"amount": won_format(-movement.entry.amount), "balance": won_format(movement.balance)},
    )
    return redirect("pages:wallet")

"""My account (/me/account/): the fan changes the password or the payment PIN. Both ask for the
current password (accounts.services.user_password_check: a wrong one counts as a failed log-in of
the account). A fan who forgot the PIN sets a new one here with the password; a fan who forgot the
password calls support, who sets a temporary one in the admin (README, *Forgotten password or PIN*).
"""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.exceptions import BadCredentials, LoginSlowedDown
from accounts.services import user_password_change, user_password_check, user_pin_change
from core.exceptions import ValidationFailed
from pages.forms import PasswordChangeForm, PinChangeForm
from pages.views import fan_required


def _render(request: HttpRequest, *, password_form=None, pin_form=None, status: int = 200) -> HttpResponse:
    context = {
        "password_form": password_form or PasswordChangeForm(user=request.user),
        "pin_form": pin_form or PinChangeForm(),
    }
    return render(request, "pages/account.html", context, status=status)


def _password_refused(form, field: str, exc: Exception) -> int:
    """Puts the refusal of the current password on the form; returns the answer's status."""
    if isinstance(exc, LoginSlowedDown):
        wait = int(exc.extra.get("retry_after_seconds") or 1)
        form.add_error(
            field, _("Too many failed log-ins for this account. Try again in %(seconds)s seconds.") % {"seconds": wait}
        )
        return 429
    form.add_error(field, _("Your password is wrong."))
    return 400


@fan_required
@never_cache
def account(request: HttpRequest) -> HttpResponse:
    return _render(request)


@fan_required
@require_POST
@never_cache
def account_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(user=request.user, data=request.POST)
    if not form.is_valid():
        return _render(request, password_form=form, status=400)
    try:
        user_password_check(user=request.user, password=form.cleaned_data["old_password"])
    except (BadCredentials, LoginSlowedDown) as exc:
        return _render(request, password_form=form, status=_password_refused(form, "old_password", exc))
    user_password_change(user=request.user, new_password=form.cleaned_data["new_password1"])
    update_session_auth_hash(request, request.user)  # this session stays logged in; the others end
    messages.success(request, _("Your password is changed. Other devices are logged out."))
    return redirect("pages:account")


@fan_required
@require_POST
@never_cache
def account_pin(request: HttpRequest) -> HttpResponse:
    form = PinChangeForm(request.POST)
    if not form.is_valid():
        return _render(request, pin_form=form, status=400)
    try:
        user_pin_change(user=request.user, password=form.cleaned_data["password"], new_pin=form.cleaned_data["new_pin"])
    except (BadCredentials, LoginSlowedDown) as exc:
        return _render(request, pin_form=form, status=_password_refused(form, "password", exc))
    except ValidationFailed as exc:
        for text in (exc.extra.get("errors") or {}).get("pin", []):  # the service's only field
            form.add_error("new_pin", _(str(text)))
        return _render(request, pin_form=form, status=400)
    messages.success(request, _("Your new payment PIN is set. Use it for your next payment."))
    return redirect("pages:account")

"""Accounts: sign-up, log-in and log-out, and My account (/me/account/), where the fan changes
the password or the payment PIN. Both ask for the current password (accounts.services.
user_password_check: a wrong one counts as a failed log-in of the account). A fan who forgot the
PIN sets a new one there with the password; a fan who forgot the password calls support, who sets
a temporary one in the admin (README, *Forgotten password or PIN*).
"""

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import BadCredentials, LoginSlowedDown, PhoneTaken
from accounts.services import (
    user_api_key_revoke,
    user_authenticate,
    user_create,
    user_password_change,
    user_password_check,
    user_pin_change,
)
from core.exception_handlers import refusal_headers_set
from core.exceptions import RateLimited, ValidationFailed
from core.throttling import client_ip
from pages.common import fan_required, safe_next
from pages.forms import LoginForm, PasswordChangeForm, PinChangeForm, SignupForm, form_errors_from


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


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = user_create(**form.cleaned_data, client_ip=client_ip(request))
            except RateLimited as exc:
                return _too_many(request, "pages/signup.html", form, exc)
            except ValidationFailed as exc:
                form_errors_from(form, exc, _)
            except PhoneTaken:
                form.add_error("phone", _("An account with this phone number already exists. Log in instead."))
                status = 409
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                welcome = _("Welcome, %(name)s! Charge points to be ready for the sale.") % {"name": user.name}
                messages.success(request, welcome)
                return redirect(safe_next(request, reverse("pages:wallet")))
    return render(request, "pages/signup.html", {"form": form, "next": safe_next(request, "")}, status=status)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = user_authenticate(
                    phone=form.cleaned_data["phone"],
                    password=form.cleaned_data["password"],
                    client_ip=client_ip(request),
                    request=request,
                )
            except RateLimited as exc:
                return _too_many(request, "pages/login.html", form, exc)
            except BadCredentials:
                form.add_error(None, _("The phone number or password is wrong."))
                status = 401
            else:
                login(request, user)
                return redirect(safe_next(request, reverse("pages:concert-list")))
    return render(request, "pages/login.html", {"form": form, "next": safe_next(request, "")}, status=status)


def _too_many(request: HttpRequest, template: str, form, exc: RateLimited) -> HttpResponse:
    """The form again with how long to wait: 429 with Retry-After (signup and log-in limits)."""
    wait = int(exc.extra.get("retry_after_seconds") or 1)
    if isinstance(exc, LoginSlowedDown):
        text = _("Too many failed log-ins for this account. Try again in %(seconds)s seconds.")
    else:
        text = _("Too many attempts. Try again in %(seconds)s seconds.")
    form.add_error(None, text % {"seconds": wait})
    response = render(request, template, {"form": form, "next": safe_next(request, "")}, status=exc.status)
    return refusal_headers_set(response, exc)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        user_api_key_revoke(user=request.user)  # logging out ends the fan's API key too
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("pages:concert-list")

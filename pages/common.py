"""What the fan pages share: the log-in requirement, the outage page, where to go next."""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from core.exception_handlers import refusal_headers_set
from core.exceptions import ServiceUnavailable

fan_required = login_required(login_url=reverse_lazy("pages:login"))


def outage_page(view):
    """The waiting room's store briefly unreachable: a page that says so (503 with Retry-After)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ServiceUnavailable as exc:
            context = {"retry_after_seconds": exc.extra.get("retry_after_seconds")}
            return refusal_headers_set(render(request, "pages/unavailable.html", context, status=exc.status), exc)

    return wrapper


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def waiting_room_url(concert_id: int, show_id: int | None = None) -> str:
    url = reverse("pages:waiting-room", args=[concert_id])
    return f"{url}?{urlencode({'show': show_id})}" if show_id else url


def not_admitted(request: HttpRequest, concert_id: int, show_id: int | None = None) -> HttpResponseRedirect:
    messages.warning(
        request, _("Booking needs your turn in the waiting room. Enter it, or wait until you are admitted.")
    )
    return redirect(waiting_room_url(concert_id, show_id))


def too_many_pins(wait_seconds: int) -> str:
    """The words for an account past its wrong-PIN allowance (payment and withdrawal alike)."""
    return _("Too many wrong PINs on this account. Try again in %(minutes)s minutes.") % {
        "minutes": -(-wait_seconds // 60)
    }

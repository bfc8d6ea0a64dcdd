"""The header of every fan page, drawn once per language and kind of visitor (pages.shells):
a fan's request fills in the name, the point balance, the CSRF token and the way back after a
language switch."""

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from core.money import won_format
from pages.shells import Kept, hole, shell_fill
from points.selectors import wallet_balance

_headers: Kept[str] = Kept()


def _header_draw(*, signed_in: bool, door_staff: bool) -> str:
    context = {"signed_in": signed_in, "door_staff": door_staff}
    context |= {name: hole(name) for name in ("fan_name", "balance", "csrf_token", "next_path")}
    return render_to_string("pages/_site_header.html", context)


def site_header_html(request: HttpRequest | None, csrf_token: object = "") -> SafeString:
    """The header for this request's visitor (`request` None: an error page drawn without one),
    with the page's own CSRF token (Django's `csrf_token` of the page's context: one masked token
    per page, not one more for the header)."""
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    # A door check-in is for staff (the door pages log in through the admin): a fan's page reads no permissions.
    door_staff = signed_in and user.is_staff and user.has_perm("reservations.checkin_reservationseat")
    shell = _headers.get(
        (get_language(), signed_in, door_staff),
        None,  # nothing in it changes while the process runs
        lambda: _header_draw(signed_in=signed_in, door_staff=door_staff),
    )
    values = {"csrf_token": str(csrf_token), "next_path": "", "fan_name": "", "balance": ""}
    if request is not None:
        values["next_path"] = request.get_full_path()
    if signed_in:
        values |= {"fan_name": user.name, "balance": won_format(wallet_balance(user=user))}
    return shell_fill(shell, values)

"""Template helpers of the fan pages: won amounts per language, the site header."""

import segno
from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from core.money import won_format
from pages.site_header import site_header_html
from reservations.tickets import ticket_code

register = template.Library()


@register.filter
def won(amount: int | None) -> str:
    return won_format(amount)


@register.filter
def mmss(seconds: int | None) -> str:
    """Seconds as m:ss (the server-rendered start of a live countdown)."""
    seconds = max(0, int(seconds or 0))
    return f"{seconds // 60}:{seconds % 60:02d}"


@register.filter
def hmmss(seconds: int | None) -> str:
    """Seconds as h:mm:ss from an hour on, else m:ss (a longer countdown's server-rendered start)."""
    seconds = max(0, int(seconds or 0))
    if seconds < 3600:
        return mmss(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@register.simple_tag(takes_context=True)
def site_header(context) -> SafeString:
    """The page's header, filled in for the visitor from its kept drawing (pages.site_header)."""
    return site_header_html(context.get("request"), context.get("csrf_token", ""))


@register.simple_tag
def ticket_qr(ticket) -> dict:
    """The ticket's code and its QR as inline SVG (no request of its own: the ticket page shows it
    offline once loaded, and the code works typed at the door too)."""
    code = ticket_code(ticket=ticket)
    svg = segno.make_qr(code, error="m").svg_inline(scale=4, border=2, omitsize=True, title=code)
    return {"code": code, "svg": mark_safe(svg)}  # segno's own markup; the code is digits, "-" and hex


def _wait_span(seconds: int) -> str:
    return f"{round(seconds / 60)} {_('min')}" if seconds >= 60 else f"{seconds} {_('sec')}"


@register.simple_tag
def wait_text(queue) -> str:
    """The estimated wait as the waiting-room page says it (static/js/queue.js says it the same way):
    "about 3 min" when the range is narrow, "2 min – 5 min" when it is wide, "at least 2 min" when
    it has no upper end yet."""
    point, low, high = queue.estimated_wait_seconds, queue.estimated_wait_low_seconds, queue.estimated_wait_high_seconds
    if point is None:
        return _("unknown")
    if low is None:
        return _("about %s") % _wait_span(point)
    if high is None:
        return _("at least %s") % _wait_span(low)
    if high - low <= max(60, point * 0.3):
        return _("about %s") % _wait_span(point)
    return f"{_wait_span(low)} – {_wait_span(high)}"


@register.simple_tag
def lookup(mapping: dict, key):
    """mapping[key], or None: templates cannot index a dict by a variable."""
    return mapping.get(key)

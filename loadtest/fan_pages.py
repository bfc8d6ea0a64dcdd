"""What a website fan of the load test (loadtest.rush, --web-share) reads off the fan pages, as a
browser and the pages' scripts do: the URL the concert page's button enters with (the page's
signed entry ticket; the answer names the place's event stream); once admitted, the seat map
page's free seats and form token, and the payment page's form. A plain module (no gevent), so the
tests can check it against the templates."""

import html
import re

_ENTRY_URL = re.compile(rb'data-enter-url="([^"]+)"')
_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
_FREE_SEAT = re.compile(rb'name="seat_ids" value="(\d+)"')
_IDEMPOTENCY_KEY = re.compile(rb'name="idempotency_key" value="([^"]+)"')
_PIN_FIELD = re.compile(rb'name="pin"')


def entry_url(page: bytes) -> str | None:
    """The URL the concert page's "Enter the waiting room" posts to; None on any other page (a
    fan already in line, or logged out)."""
    found = _ENTRY_URL.search(page)
    return html.unescape(found[1].decode()) if found else None


def form_token(page: bytes) -> str | None:
    """The page's CSRF token (every form of a page carries the same one)."""
    found = _CSRF_FIELD.search(page)
    return found[1].decode() if found else None


def free_seats(page: bytes) -> list[int]:
    """The seat ids the seat map page offers (a free seat is a checkbox, a taken one is not)."""
    return [int(seat_id) for seat_id in _FREE_SEAT.findall(page)]


def payment_form(page: bytes) -> dict | None:
    """The payment page's PIN form's fields but the PIN (its CSRF token and the key that makes a
    double submit harmless); None when the page has no PIN form (the hold ended)."""
    key, token = _IDEMPOTENCY_KEY.search(page), form_token(page)
    if _PIN_FIELD.search(page) is None or token is None:
        return None
    return {"csrfmiddlewaretoken": token, "idempotency_key": key[1].decode() if key else ""}

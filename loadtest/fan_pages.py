"""What a website fan of the load test (loadtest.rush, --web-share) reads off the fan pages, as a
browser and queue.js do: the concert page's form token, and the waiting page's event stream URL
(with its signed ticket), queue token and first refresh. A plain module (no gevent), so the tests
can check it against the templates."""

import html
import re

_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
_WAITING_ROOM = re.compile(
    rb'data-events-url="(?P<events_url>[^"]*)" data-token="(?P<token>[^"]*)".*?data-refresh-after="(?P<refresh>\d+)"',
    re.S,
)


def form_token(page: bytes) -> str | None:
    """The CSRF token of the page's form (the concert page's "Enter the waiting room")."""
    found = _CSRF_FIELD.search(page)
    return found[1].decode() if found else None


def waiting_room(page: bytes) -> dict | None:
    """The waiting page's stream URL, queue token and first refresh (seconds); None for any other
    page (the admitted fan's has no stream)."""
    found = _WAITING_ROOM.search(page)
    if found is None:
        return None
    return {
        "events_url": html.unescape(found["events_url"].decode()),
        "token": html.unescape(found["token"].decode()),
        "refresh_after_seconds": int(found["refresh"]),
    }

"""What a website fan of the load test (loadtest.rush, --web-share) reads off the concert page, as
a browser and static/js/enter.js do: the URL its button enters with (the page's signed entry
ticket; the answer names the place's event stream). A plain module (no gevent), so the tests can
check it against the templates."""

import html
import re

_ENTRY_URL = re.compile(rb'data-enter-url="([^"]+)"')


def entry_url(page: bytes) -> str | None:
    """The URL the concert page's "Enter the waiting room" posts to; None on any other page (a
    fan already in line, or logged out)."""
    found = _ENTRY_URL.search(page)
    return html.unescape(found[1].decode()) if found else None

"""Page parts drawn once for every fan and filled in per request: shells with holes.

Django's templates cost about a millisecond per kilobyte of page on this machine: the site header
alone (the links twice, for the bar and the phone menu, the language list, three forms) is a
millisecond, the concert page three. In an on-sale rush every arriving website fan loads the concert
page, and every admitted one the booking pages, all with the same header. So a part that is the
same for every fan but a few values (the fan's name and balance, the CSRF token, the entry ticket)
is drawn once with a hole in place of each such value, kept per process, and each request fills its
own values in: a string substitution instead of a template.

A hole is a private-use character, the hole's name and this process's random nonce: autoescaping
leaves it as it is, and no text on a page (a concert's description, a fan's name) can name one. The
values are filled in one pass, escaped, so a value is never read again for holes.
"""

import re
import secrets
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

_MARK = "\ue000"
_NONCE = secrets.token_hex(8)
_HOLES = re.compile(f"{_MARK}([a-z0-9_]+)\\.{_NONCE}{_MARK}")


def hole(name: str) -> str:
    """What a shell is drawn with in place of the value `name` (a template variable's value)."""
    return f"{_MARK}{name}.{_NONCE}{_MARK}"


def shell_fill(shell: str, values: dict[str, object]) -> SafeString:
    """The shell with every hole replaced by its value, escaped (a SafeString as it is). A shell
    holds only holes its drawing put there, so each has a value: a missing one is a KeyError."""
    filled = _HOLES.sub(lambda match: conditional_escape(values[match.group(1)]), shell)
    return mark_safe(filled)  # noqa: S308 - the template's own escaped output and escaped values


T = TypeVar("T")


class Kept(Generic[T]):
    """Drawings kept per key, each with the stamp it was drawn at (what it depends on that can
    change: a seat map's version, the clock's second); a drawing is made again when the stamp
    differs. One thread draws at a time: the others wait for its drawing rather than draw too."""

    def __init__(self) -> None:
        self._kept: dict[Hashable, tuple[Hashable, T]] = {}
        self._drawing = threading.Lock()

    def get(self, key: Hashable, stamp: Hashable, draw: Callable[[], T]) -> T:
        kept = self._kept.get(key)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        with self._drawing:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == stamp:
                return kept[1]
            drawing = draw()
            self._kept[key] = (stamp, drawing)
            return drawing

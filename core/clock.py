"""The one clock every time-dependent rule reads.

Services call `clock.now()` instead of `timezone.now()`, so tests can set and advance time
(`clock.freeze(...)`, `clock.advance(...)`) without sleeping. The override is process-wide on
purpose: threads started by a concurrency test see the same frozen time.

A concurrency test can also give one thread its own time (`clock.frozen_in_thread(...)`), e.g. a
web process whose clock is a millisecond behind the worker's.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone


class Clock:
    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._lock = threading.Lock()
        self._thread = threading.local()

    def now(self) -> datetime:
        frozen = getattr(self._thread, "frozen", None) or self._frozen
        return frozen if frozen is not None else timezone.now()

    def timestamp(self) -> float:
        """Seconds since the epoch, as Redis scripts take it."""
        return self.now().timestamp()

    def freeze(self, at: datetime | None = None) -> datetime:
        if at is not None and timezone.is_naive(at):
            raise ValueError("clock.freeze needs an aware datetime")
        with self._lock:
            self._frozen = at or timezone.now()
            return self._frozen

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            if self._frozen is None:
                raise RuntimeError("freeze the clock before advancing it")
            self._frozen += delta
            return self._frozen

    @contextmanager
    def frozen_in_thread(self, at: datetime) -> Iterator[datetime]:
        """Within the block, the calling thread alone sees `at`."""
        self._thread.frozen = at
        try:
            yield at
        finally:
            self._thread.frozen = None

    def unfreeze(self) -> None:
        with self._lock:
            self._frozen = None


clock = Clock()

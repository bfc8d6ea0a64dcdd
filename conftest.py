"""Fixtures shared by every app's tests."""

import pytest

from core.clock import clock as _clock
from core.redis import redis_client


@pytest.fixture
def clock():
    """The injectable clock, frozen at the real now; tests advance it instead of sleeping."""
    _clock.freeze()
    yield _clock
    _clock.unfreeze()


@pytest.fixture(autouse=True)
def _clean_redis_prefix(settings):
    """Each test starts with no keys under this run's Redis prefix."""
    yield
    client = redis_client()
    keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)

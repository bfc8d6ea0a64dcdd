import pytest

from queueing.selectors import concert_queue_policy_cache_clear


@pytest.fixture(autouse=True)
def _fresh_policy_cache():
    """Each test reads policies afresh (the per-process cache outlives a test)."""
    concert_queue_policy_cache_clear()
    yield
    concert_queue_policy_cache_clear()

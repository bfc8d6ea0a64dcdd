import pytest

from queueing.authentication import api_key_local_cache_clear
from queueing.selectors import concert_queue_policy_cache_clear


@pytest.fixture(autouse=True)
def _fresh_policy_cache():
    """Each test reads policies and API keys afresh (the per-process caches outlive a test)."""
    concert_queue_policy_cache_clear()
    api_key_local_cache_clear()
    yield
    concert_queue_policy_cache_clear()
    api_key_local_cache_clear()

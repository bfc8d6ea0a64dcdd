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


def pytest_terminal_summary(terminalreporter):
    """Says how many API operations the schema fuzz exercised, so a collapse of its items shows."""
    reports = [
        report
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if report.when == "call" and "test_every_endpoint_answers_within_its_schema[" in report.nodeid
    ]
    if reports:
        passed = sum(report.passed for report in reports)
        terminalreporter.write_line(f"API schema fuzz: {passed} of {len(reports)} operations passed")

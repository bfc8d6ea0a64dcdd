"""Fixtures shared by every app's tests."""

import logging

import pytest
from django.db import transaction
from django.db.transaction import Atomic

from core.clock import clock as _clock
from core.redis import queue_on_cluster, queue_redis, redis_client


@pytest.fixture
def clock():
    """The injectable clock, frozen at the real now; tests advance it instead of sleeping."""
    _clock.freeze()
    yield _clock
    _clock.unfreeze()


@pytest.fixture(autouse=True)
def _clean_redis_prefix(settings):
    """Each test starts with no keys under this run's Redis prefix (on the Redis Cluster too, when
    the waiting room runs on one: REDIS_CLUSTER_URL)."""
    yield
    for client in (redis_client(), queue_redis()) if queue_on_cluster() else (redis_client(),):
        keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def organizer(db):
    """A staff member in the Organizers group (the back-office's permissions)."""
    from reservations.tests.factories import organizer_user  # models load after Django's setup

    return organizer_user()


@pytest.fixture
def org_client(organizer):
    """A test client logged in as that organizer."""
    from django.test import Client

    client = Client()
    client.force_login(organizer)
    return client


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


@pytest.fixture(autouse=True)
def _commit_hooks_run_when_a_service_commits(monkeypatch):
    """Inside a test's transaction, a durable atomic block (every service that owns its
    transaction) ends like a commit: the on_commit work it registered (queue side effects, seat
    map versions, metrics) runs at once, as in production, instead of being dropped with the
    test's rollback. A block that rolls back drops its work, as Django does. Transactional tests
    (transaction=True) commit for real and need none of this."""
    original_enter, original_exit = Atomic.__enter__, Atomic.__exit__

    def enter(self):
        connection = transaction.get_connection(self.using)
        inside_test = self.durable and connection.in_atomic_block
        original_enter(self)
        starts = connection.__dict__.setdefault("_test_durable_hook_starts", [])
        starts.append(len(connection.run_on_commit) if inside_test else None)

    def exit_(self, exc_type, exc_value, traceback):
        connection = transaction.get_connection(self.using)
        start = connection._test_durable_hook_starts.pop()
        result = original_exit(self, exc_type, exc_value, traceback)
        if start is not None and exc_type is None:
            committed = connection.run_on_commit[start:]
            del connection.run_on_commit[start:]
            for _, func, robust in committed:
                if robust:
                    try:
                        func()
                    except Exception:
                        logging.getLogger("django.db.backends.base").exception("on_commit %s failed", func)
                else:
                    func()
        return result

    monkeypatch.setattr(Atomic, "__enter__", enter)
    monkeypatch.setattr(Atomic, "__exit__", exit_)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test databases, dropped at the end even when a connection to one is still open or
    closing (for instance a drill's gunicorn, uvicorn or Celery has gone but its PostgreSQL server
    process ends a moment later): Django's DROP DATABASE refuses a database anyone is connected
    to, and the full suite's cluster phase left its database behind now and then, with a warning."""
    yield
    from django.db import connections

    from drills.stack import db_terminate_connections

    for alias in connections:
        db_terminate_connections(connections[alias].settings_dict["NAME"])

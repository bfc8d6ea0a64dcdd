"""core.postgresql: a kept connection is checked before a request uses it without a round trip
while it is quiet, and one the server ended is still found and replaced (the real PostgreSQL)."""

import time

import psycopg
import pytest
from django.db import close_old_connections, connection

from concerts.models import Concert

pytestmark = pytest.mark.django_db(transaction=True)


def _ended_by_the_server(backend_pid: int) -> None:
    """pg_terminate_backend from another connection, then wait until the server has written the
    end to our socket (the termination is asynchronous)."""
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
        for _ in range(100):
            gone = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend_pid]).fetchone()
            if gone == (0,):
                return
            time.sleep(0.05)
    raise AssertionError("the backend did not end")


def test_a_quiet_connection_is_usable_without_a_query_and_an_ended_one_is_not(monkeypatch):
    connection.ensure_connection()
    kept = connection.connection

    def round_trip(*args, **kwargs):
        raise AssertionError("the check sent a query")

    with monkeypatch.context() as patched:
        patched.setattr(kept, "cursor", round_trip)
        assert connection.is_usable()

    _ended_by_the_server(kept.info.backend_pid)

    assert not connection.is_usable()
    connection.close()


def test_the_next_request_replaces_a_kept_connection_the_server_ended():
    """The drills end every connection mid-rush (drills/tests/test_faults.py); here, one. A request
    starts with close_old_connections (Django's request_started; the test client skips it), then
    its first query checks the kept connection."""
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    try:
        connection.ensure_connection()
        kept = connection.connection
        _ended_by_the_server(kept.info.backend_pid)

        close_old_connections()
        concerts = Concert.objects.count()

        assert concerts == 0
        assert connection.connection is not kept
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = 0
        connection.close()

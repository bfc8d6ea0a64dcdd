"""Fixtures of the drills: a Stack of real processes (gunicorn, Celery worker and beat) on this
run's test database (committed: the drills use transactional_db) and Redis prefix, always
stopped at the end, even when the test fails."""

import pytest
from django.db import connection

from drills.stack import Stack, StackConfig, db_url


@pytest.fixture
def drill_stack(transactional_db, settings, tmp_path):
    """A Stack on the test database and this run's Redis prefix. The test's users' passwords are
    hashed with the test settings' MD5 hasher, so the processes accept it too (DRILL_FAST_HASHER)."""
    config = StackConfig(
        database_url=db_url(connection.settings_dict["NAME"]),
        redis_prefix=settings.REDIS_KEY_PREFIX,
        redis_url=settings.REDIS_URL,
        redis_cluster_url=settings.REDIS_CLUSTER_URL,
        conn_max_age=0,
        extra_env={"DRILL_FAST_HASHER": "1"},
    )
    stack = Stack(config, tmp_path / "logs")
    try:
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the test's own on a free port (nothing on disk), so it can be stopped
    and started again; the machine's Redis is never touched."""
    from drills.stack import RedisServer, free_port

    server = RedisServer(free_port(), tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def start_pgbouncer(tmp_path):
    """Starts PgBouncers (drills.stack.PgBouncer, strict: session state discarded after every
    transaction) on free ports; all stopped at the end."""
    from drills.stack import PgBouncer, free_port

    started = []

    def start(*, pool_size: int) -> PgBouncer:
        bouncer = PgBouncer(free_port(), tmp_path / "pgbouncer", pool_size=pool_size, strict=True)
        started.append(bouncer)
        bouncer.start()
        return bouncer

    try:
        yield start
    finally:
        for bouncer in started:
            bouncer.stop()

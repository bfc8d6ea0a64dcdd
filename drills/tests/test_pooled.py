"""PostgreSQL connections under scale-out (issue 18 item 4): every process reaches PostgreSQL
through PgBouncer in transaction pooling mode (config/pgbouncer/), so the server connections stay
within the pool however many web instances, threads and Celery processes there are.

The PgBouncer here is strict (DISCARD ALL after every transaction): a process that relied on
session state across transactions would fail at once, not now and then.
"""

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from drills.burst import Burst
from drills.stack import PgConnectionSampler
from drills.tests.world import drill_world, room_sampler
from queueing.services import queue_set_paused
from reservations.models import Reservation

WEBS = 6  # gunicorn instances, 1 worker x THREADS threads each
THREADS = 4
POOL_SIZE = 10  # server connections PgBouncer may open to the test database
ACTIVE_SIZE = 6
FANS = 30


@pytest.mark.drill
def test_six_webs_through_pgbouncer_stay_within_the_server_pool(drill_stack, start_pgbouncer, settings):
    world = drill_world(fans=FANS, active_size=ACTIVE_SIZE)
    concert_id = world.concert.pk
    db_name = connection.settings_dict["NAME"]
    queue_set_paused(concert_id=concert_id, paused=True)
    bouncer = start_pgbouncer(pool_size=POOL_SIZE)
    drill_stack.config.database_url = bouncer.url(db_name)
    drill_stack.config.database_pooler = "pgbouncer"
    drill_stack.config.conn_max_age = 60  # as deployed: each thread keeps its (client) connection

    webs = [drill_stack.start_web(f"web{i}", workers=1, threads=THREADS) for i in range(1, WEBS + 1)]
    worker = drill_stack.start_worker("worker1", concurrency=1)
    beat = drill_stack.start_beat("beat1")
    drill_stack.wait_all_ready(timeout=90)

    # From here on the test process keeps no connection to the test database: every one that
    # pg_stat_activity shows is PgBouncer's.
    connection.close()
    connections = PgConnectionSampler(db_name, pgbouncer=bouncer, interval=0.02)
    connections.start()
    sampler = room_sampler(concert_id)
    sampler.start()
    burst = Burst(
        bases=[web.url for web in webs], concert_id=concert_id, show_id=world.show.pk, fans=world.fans,
        pin=world.pin, max_seconds=50,
    )  # fmt: skip
    runner = threading.Thread(target=burst.run, kwargs={"threads": FANS}, daemon=True)
    runner.start()
    try:
        assert burst.entered.wait(timeout=30), "the fans could not all enter"
        queue_set_paused(concert_id=concert_id, paused=False)
        connection.close()  # the pause lives in PostgreSQL: this process's connection is not PgBouncer's
        runner.join(timeout=60)
        assert not runner.is_alive(), "the burst did not end in time"
    finally:
        sampler.stop()
        connections.stop()
    result = burst.result

    print(  # shown with pytest -s: what the drill saw
        f"server connections: peak {connections.peak} (pool {POOL_SIZE}), clients at PgBouncer: peak "
        f"{connections.peak_clients}, waiting peak {connections.peak_waiting}, samples {connections.samples}; "
        f"outcomes={dict(result.outcomes)} answers={dict(result.answers)}"
    )
    # The server connections stayed within the pool while more clients than that shared it.
    assert connections.samples > 20
    assert 0 < connections.peak <= POOL_SIZE
    assert connections.peak_clients > POOL_SIZE
    # The burst went through the pool without a server error, and the waiting room held.
    assert result.server_errors() == 0, result.answers
    assert result.count("0") == 0, result.answers
    assert result.count("503") == 0, result.answers
    assert result.outcomes["paid"] + result.outcomes["paid_refunded"] >= FANS // 2, result.outcomes
    assert sampler.max_active <= ACTIVE_SIZE
    assert not sampler.readmitted and not sampler.both_waiting_and_active
    paid_ids = [reservation for _, reservation in result.paid]
    assert len(paid_ids) == len(set(paid_ids))
    assert set(Reservation.objects.filter(pk__in=paid_ids).values_list("status", flat=True)) <= {
        "CONFIRMED",
        "REFUNDED",
    }
    assert "promote_all" in worker.log_text() and "succeeded" in worker.log_text()
    assert beat.alive(), beat.log_text()[-2000:]

    drill_stack.stop_all()
    call_command("check_inventory")  # raises CommandError on any breach
    call_command("check_ledger")


@pytest.mark.drill
def test_commands_through_pgbouncer_keep_no_cursor_across_transactions(drill_stack, start_pgbouncer):
    """check_inventory reads reservations with QuerySet.iterator(): a server-side cursor that
    outlives its transaction in autocommit mode. DATABASE_POOLER=pgbouncer turns such cursors off;
    without it the cursor is gone by the next transaction."""
    drill_world(fans=2, active_size=1)
    bouncer = start_pgbouncer(pool_size=2)
    drill_stack.config.database_url = bouncer.url(connection.settings_dict["NAME"])

    drill_stack.config.database_pooler = "pgbouncer"
    pooled = drill_stack.manage("check_inventory", timeout=60)
    assert pooled.returncode == 0, pooled.stdout + pooled.stderr

    drill_stack.config.database_pooler = ""  # as if straight to PostgreSQL
    direct = drill_stack.manage("check_inventory", timeout=60)
    assert direct.returncode != 0
    assert "InvalidCursorName" in direct.stderr, direct.stderr[-2000:]

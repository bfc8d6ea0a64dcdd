"""An automated fault drill (issue 7 item 4; the others are scripts/drill): in the middle of a
burst, a whole Celery worker is killed with SIGKILL and every PostgreSQL connection to the test
database is terminated. Promotion goes on (the other worker), the web instance reconnects, and
nothing is oversold or lost."""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection

from drills.burst import Burst
from drills.stack import db_terminate_connections
from drills.tests.world import drill_world, room_sampler
from queueing.services import queue_set_paused

ACTIVE_SIZE = 4
FANS = 20
ROUNDS = 5


@pytest.mark.drill
def test_celery_worker_killed_and_db_connections_dropped_mid_burst(drill_stack):
    world = drill_world(fans=FANS, active_size=ACTIVE_SIZE)
    concert_id = world.concert.pk
    db_name = connection.settings_dict["NAME"]
    queue_set_paused(concert_id=concert_id, paused=True)
    drill_stack.config.conn_max_age = 60  # as deployed: persistent connections, health-checked

    web = drill_stack.start_web("web1", workers=2, threads=4)
    workers = [drill_stack.start_worker(f"worker{i}", concurrency=1) for i in (1, 2)]
    beat = drill_stack.start_beat("beat1")
    drill_stack.wait_all_ready(timeout=60)

    sampler = room_sampler(concert_id)
    sampler.start()
    burst = Burst(
        bases=[web.url], concert_id=concert_id, show_id=world.show.pk, fans=world.fans, pin=world.pin, max_seconds=45
    )
    runner = threading.Thread(target=burst.run, kwargs={"threads": FANS}, daemon=True)
    runner.start()
    try:
        assert burst.entered.wait(timeout=30)
        drill_stack.kill9(workers[0])  # no warning, no cleanup, whatever it was running
        queue_set_paused(concert_id=concert_id, paused=False)
        deadline = time.monotonic() + 25
        while len(burst.result.paid) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        ended = 0
        for _ in range(ROUNDS):  # every connection to the test database, the test's own too
            ended += db_terminate_connections(db_name)
            time.sleep(0.3)
        cut_until = time.time()
        runner.join(timeout=60)
        assert not runner.is_alive()
    finally:
        sampler.stop()
    connection.close()
    result = burst.result

    print(  # shown with pytest -s: what the drill saw
        f"samples={sampler.samples} max_active={sampler.max_active} admissions={len(sampler.admissions)} "
        f"outcomes={dict(result.outcomes)} answers={dict(result.answers)}"
    )
    assert ended >= ROUNDS
    assert not workers[0].alive() and workers[1].alive() and web.alive()
    assert sampler.max_active <= ACTIVE_SIZE
    assert not sampler.readmitted and not sampler.both_waiting_and_active
    assert result.outcomes["paid"] + result.outcomes["paid_refunded"] >= FANS * 3 // 4, result.outcomes
    # A request whose connection was cut answers 503 (retry), never 500, and only then: no error
    # once the connections are back. A retry with the same Idempotency-Key settles each payment.
    assert result.server_errors() == 0, result.answers
    late = [(t, name, status) for t, name, status, _ in result.timeline if status >= 500 and t > cut_until + 2]
    assert not late, late
    assert beat.alive(), beat.log_text()[-2000:]

    drill_stack.stop_all()
    call_command("check_inventory")
    call_command("check_ledger")

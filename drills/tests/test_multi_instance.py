"""Multi-instance drill (issue 7 item 3): two web instances (gunicorn), two Celery workers and two
Celery beat processes at once on this run's test database and Redis prefix; a burst of enters and
payments through both web instances; the waiting room sampled in Redis throughout.

Asserts: the active set never exceeded its size, nobody was admitted twice, nobody was waiting and
active at once, every fan kept one token, no 5xx, nothing oversold (check_inventory), the ledger
balanced (check_ledger).
"""

import threading

import pytest
from django.core.management import call_command

from drills.burst import Burst
from drills.tests.world import drill_world, room_sampler
from queueing.services import queue_set_paused
from reservations.models import Reservation

ACTIVE_SIZE = 5
FANS = 30


@pytest.mark.drill
def test_two_webs_two_workers_two_beats_burst(drill_stack):
    world = drill_world(fans=FANS, active_size=ACTIVE_SIZE)
    concert_id = world.concert.pk
    # Everyone queues first; the beats' promotion then admits them (and payments hand places on).
    queue_set_paused(concert_id=concert_id, paused=True)

    webs = [drill_stack.start_web(f"web{i}", workers=1, threads=4) for i in (1, 2)]
    workers = [drill_stack.start_worker(f"worker{i}", concurrency=1) for i in (1, 2)]
    beats = [drill_stack.start_beat(f"beat{i}") for i in (1, 2)]
    drill_stack.wait_all_ready(timeout=60)

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
        runner.join(timeout=60)
        assert not runner.is_alive(), "the burst did not end in time"
    finally:
        sampler.stop()
    result = burst.result

    print(  # shown with pytest -s: what the drill saw
        f"samples={sampler.samples} max_active={sampler.max_active} admissions={len(sampler.admissions)} "
        f"outcomes={dict(result.outcomes)} answers={dict(result.answers)}"
    )
    # The waiting room held under two promoters, two workers and two web instances.
    assert sampler.samples > 50
    assert sampler.max_active == ACTIVE_SIZE, f"active set reached {sampler.max_active} (size {ACTIVE_SIZE})"
    assert not sampler.both_waiting_and_active
    assert not sampler.readmitted, f"tokens admitted twice: {sampler.readmitted}"
    assert not sampler.users_admitted_twice()
    assert len(sampler.admissions) >= FANS * 2 // 3
    assert all(len(tokens) == 1 for tokens in result.tokens.values()), result.tokens
    # The traffic went through, without a server error.
    assert result.server_errors() == 0, result.answers
    assert result.count("0") == 0, result.answers
    assert result.outcomes["paid"] + result.outcomes["paid_refunded"] >= FANS // 2, result.outcomes
    paid_ids = [reservation for _, reservation in result.paid]
    assert len(paid_ids) == len(set(paid_ids))
    assert set(Reservation.objects.filter(pk__in=paid_ids).values_list("status", flat=True)) <= {
        "CONFIRMED",
        "REFUNDED",
    }
    # Both beats sent promotions and both workers ran some.
    for proc in beats:
        assert "queueing.tasks.promote_all" in proc.log_text(), proc.name
    for proc in workers:
        assert "promote_all" in proc.log_text() and "succeeded" in proc.log_text(), proc.name

    drill_stack.stop_all()
    call_command("check_inventory")  # raises CommandError on any breach
    call_command("check_ledger")

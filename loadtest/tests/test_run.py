"""scripts/loadtest itself: what it refuses before touching anything."""

import os
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from concerts.models import ShowSeat
from drills.stack import db_drop, db_recreate, db_url
from loadtest import figures, run
from reservations.models import Reservation, ReservationSeat, ReservationStatus
from reservations.tests.factories import fan_with_points, make_show


def test_a_load_test_refuses_a_database_another_one_is_using(capsys):
    name = f"stagegate_load_busy_{os.getpid()}"
    db_recreate(name)
    try:
        with psycopg.connect(db_url(name)) as other_run:
            assert run.main(["--db", name, "--fans", "10"]) == 1
            assert "is in use" in capsys.readouterr().out
            assert other_run.execute("SELECT 1").fetchone() == (1,)  # not dropped under it
    finally:
        db_drop(name)


def test_the_report_says_when_the_holds_made_while_fans_entered_were_slow():
    during = {"n": 3, "p50_ms": 80.0, "p95_ms": 2000.0}
    phases = {name: {"while_entering": during, "after": {"n": 0}} for name in figures.PHASE_CALLS}
    split = {"client": 900.0, "proxy_queue": 600.4, "app": 120.0, "rest": 179.6}
    windows = [{"from_s": 0, **during, "split_mean_ms": split}, {"from_s": 10, "n": 0, "split_mean_ms": {}}]
    phases |= {"entered_by_s": 14.2, "holds_by_10_s": windows}

    lines = run._phase_lines(phases)

    assert [line.split()[0] for line in lines[2:-1]] == ["shows", "seats", "hold", "pay", "events"]
    assert lines[-1].endswith(
        "from the first entry: n, p95 ms (their mean: proxy queue + app + rest): "
        "0-10 s 3, 2000 (600 + 120 + 180), 10-20 s 0, -"
    )


def test_the_report_puts_the_busiest_process_of_the_opening_first_with_its_wait_for_a_core():
    during = {"machine": 1.9, "locust": 0.3, "web-booking": 0.5, "redis": 0.1}
    during |= {"web-booking waited": 1.5, "web-booking slices": 1500, "locust waited": 0.2, "locust slices": 400}
    after = {"machine": 1.1, "locust": 0.3, "web-booking": 0.1, "redis": 0.05}
    after |= {"web-booking waited": -0.1, "web-booking slices": 10, "locust waited": 0.05, "locust slices": 500}

    lines = run._cores_lines({"while_entering": during, "after": after})

    assert lines[0].endswith("the machine 1.9 | 1.1 of " + str(os.cpu_count()))
    assert lines[1] == "  web-booking 0.5 | 0.1, locust 0.3 | 0.3, redis 0.1 | 0.05"
    # A negative wait: threads that ended took their figures with them. Redis has no threads read.
    assert lines[3] == "  web-booking 1.50 (1.00 ms) | -, locust 0.20 (0.50 ms) | 0.05 (0.10 ms)"


def test_the_report_judges_the_waiting_fans_without_the_admitted_fans_leaves_and_shows_both():
    cpu = figures.cpu_breakdown(
        window_s=10.0,
        cores=2,
        machine_busy_s=None,
        web=[(3.0, {"pay": {"requests": 100, "cpu_s": 2.0}})],
        groups={"proxy": 2.0, "redis": 1.0, "events": 3.3},
        locust_s=None,
        client_calls={"enter": 100, "leave": 100, "events": 100, "pay": 100},
        status_events=0,
    )

    lines = run._cpu_lines(cpu, {})

    # Without the leaves: 2.2 s of the loop's 3.3 (100 of its 300 calls are leaves), and 1.0 + 0.5 s
    # of the proxy and Redis (200 of 400 requests): 3.7 of 9.3 s.
    assert lines[-2].endswith("1.5 CPU-s more: 39.8% all in (goal <= 33.3%: NOT met)")
    assert lines[-1] == (
        "  not in it: the 100 leaves, made by admitted fans after a sold-out answer, 1.85 CPU-s of the "
        "event loop, HAProxy and Redis (by requests and status events); counted with the waiting fans, "
        "as until 2026-12-05: 59.7%"
    )


def test_the_load_generator_is_saturated_when_one_of_its_processes_is():
    master = {"cpu_s": 2.0, "wall_s": 100.0, "peak_10s_share_of_one_core": 0.05, "peak_memory_mib": 100.0}
    worker = {"cpu_s": 30.0, "wall_s": 99.0, "peak_10s_share_of_one_core": 0.6, "peak_memory_mib": 900.0}
    calm = figures.load_generator([master, worker, worker], 100.0, cores=2)
    assert calm["processes"] == 3
    assert calm["cpu_s"] == 62.0
    assert calm["share_of_one_core"] == 0.62
    assert calm["share_of_machine"] == 0.31
    assert calm["busiest_process_share_of_one_core"] == round(30 / 99, 3)
    assert calm["peak_memory_mib"] == 1900
    # Together over 80 % of a core, but no process is: three loops, three cores' worth.
    busy_in_all = figures.load_generator([master, worker, worker, worker], 100.0, cores=2)
    assert busy_in_all["share_of_one_core"] > figures.LOCUST_SATURATED_SHARE
    assert not figures.load_generator_saturated(busy_in_all)
    line = run._load_generator_lines(busy_in_all)[0]
    assert "locust: a master and 3 workers" in line
    assert line.endswith("not saturated")

    burst = figures.load_generator([master, worker | {"peak_10s_share_of_one_core": 0.85}], 100.0, cores=2)
    assert figures.load_generator_saturated(burst)
    assert "SATURATED" in run._load_generator_lines(burst)[0]
    # A report of one process (no per-process figures) is judged by its whole share.
    single = {"share_of_one_core": 0.9, "peak_10s_share_of_one_core": 0.5}
    assert figures.load_generator_saturated(single)


@pytest.mark.django_db(transaction=True)
def test_the_rounds_of_abandoned_holds_are_those_the_last_seat_paid_waited_for():
    show = make_show()
    fan = fan_with_points(1_000_000)
    earlier_seat, last_seat = ShowSeat.objects.filter(show=show).order_by("pk")[:2]
    now = timezone.now()

    def reservation(seat: ShowSeat, status: str, confirmed_at=None) -> None:
        made = Reservation.objects.create(
            user=fan, show=show, status=status, amount=100_000, hold_expires_at=now, created_at=now,
            confirmed_at=confirmed_at,
        )  # fmt: skip
        ReservationSeat.objects.create(reservation=made, show_seat=seat, price=100_000, active=status == "CONFIRMED")

    reservation(earlier_seat, ReservationStatus.EXPIRED)
    reservation(earlier_seat, ReservationStatus.CONFIRMED, confirmed_at=now - timedelta(seconds=60))
    reservation(last_seat, ReservationStatus.EXPIRED)
    reservation(last_seat, ReservationStatus.RELEASED)  # five wrong PINs: let go at once, not a round
    reservation(last_seat, ReservationStatus.EXPIRED)
    reservation(last_seat, ReservationStatus.CONFIRMED, confirmed_at=now)

    assert run.abandoned_hold_rounds_seen(db_url(connection.settings_dict["NAME"]), show_id=show.pk) == 2

import os
from types import SimpleNamespace

from loadtest.server import CpuTimeline, process_run_queue


def timeline(*samples: tuple[float, dict]) -> CpuTimeline:
    line = CpuTimeline(SimpleNamespace(procs=[]), postmaster=None, redis_url="", load_generator=0)
    line.samples = list(samples)
    return line


def test_the_cpu_timeline_splits_at_the_nearest_samples_in_cores():
    line = timeline(
        (100.0, {"web-booking": 10.0, "locust": 5.0, "postgresql": None}),
        (110.2, {"web-booking": 19.0, "locust": 7.0, "postgresql": 3.0}),
        (120.0, {"web-booking": 20.0, "locust": 17.0, "postgresql": 4.0}),
    )

    assert line.cores_between(100.1, 110.0) == {"web-booking": 0.882, "locust": 0.196, "postgresql": None}
    assert line.cores_between(110.0, 121.0) == {"web-booking": 0.102, "locust": 1.02, "postgresql": 0.102}


def test_the_cpu_timeline_without_two_samples_in_the_window_has_nothing_to_say():
    assert timeline().cores_between(0, 10) == {}
    assert timeline((100.0, {"locust": 1.0})).cores_between(90, 110) == {}


def test_the_run_queue_of_a_live_process_and_of_a_gone_one():
    waited, slices = process_run_queue([os.getpid()])
    assert waited >= 0 and slices > 0  # this test's own threads have run

    assert process_run_queue([2**22 + 1]) == (0.0, 0)  # beyond pid_max: no such process

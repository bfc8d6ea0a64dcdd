"""The uvicorn processes (config/asgi.py) as they start: their garbage collection tuned for an
event loop holding thousands of streams."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
READ_GC = "import gc, config.asgi; print(gc.isenabled(), gc.get_threshold()[0], len(gc.get_objects()))"


def _started_process(**env: str) -> list[str]:
    started = [sys.executable, "-c", READ_GC]
    result = subprocess.run(started, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_an_event_loop_process_collects_its_young_objects_at_the_configured_threshold():
    enabled, threshold, collected_objects_at_start = _started_process()

    # Still collected (cycles are freed), but far less often than Python's 700 new objects.
    assert (enabled, int(threshold)) == ("True", settings.ASGI_GC_THRESHOLD)
    assert settings.ASGI_GC_THRESHOLD > 700
    # What was loaded at start is frozen, out of every pass (gc.get_objects skips frozen objects).
    assert int(collected_objects_at_start) < 1_000
    assert _started_process(ASGI_GC_THRESHOLD="2500")[1] == "2500"

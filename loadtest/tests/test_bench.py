import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings

from core.redis import redis_client
from loadtest.queue_bench import main as queue_bench


@pytest.mark.django_db
def test_queue_bench_scripts_part_runs_under_its_own_prefix_and_cleans_up():
    prefix = settings.REDIS_KEY_PREFIX
    out = StringIO()

    assert queue_bench(["--skip-http", "--seconds", "0.3", "--script-procs", "1"], stdout=out) == 0

    text = out.getvalue()
    assert "script poll (1 procs x pipeline 200)" in text
    assert "calls/s (target >= 50,000)" in text
    assert prefix == settings.REDIS_KEY_PREFIX
    bench_prefix = text.split("Redis prefix ")[1].split()[0]
    assert bench_prefix.startswith("bench:")
    assert list(redis_client().scan_iter(match=f"{bench_prefix}:*", count=1000)) == []


def _table_row(text: str, name: str) -> list[str]:
    row = next(line for line in text.splitlines() if line.startswith(name))
    return row[len(name) :].split()


@pytest.mark.drill
def test_queue_bench_ratios_come_from_the_measured_http_lines():
    """A short real run (its own database, gunicorn and Redis prefix): the printed ratios are the
    quotients of the measured lines, which all served requests without errors. The throughput itself
    is a benchmark's figure, not asserted."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    run = subprocess.run(
        [sys.executable, "-m", "loadtest.queue_bench", "--seconds", "1.5", "--rounds", "1", "--clients", "4"]
        + ["--client-procs", "1", "--script-procs", "1", "--entering-fans", "400"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    text = run.stdout
    rates = {}
    for name in ("http healthz baseline", "http poll", "http enter"):
        rate, _p50, _p99, errors, cpu_per_request = _table_row(text, name)[-5:]
        rates[name] = float(rate.replace(",", ""))
        assert rates[name] > 0 and errors == "0" and float(cpu_per_request.replace(",", "")) > 0, text
    for name in ("http poll", "http enter"):
        printed = re.search(rf"^{name}: (\d+)% of /healthz's requests/s", text, re.MULTILINE)
        assert printed, text
        # The table rounds requests/s to whole numbers, so allow one point of rounding.
        assert abs(int(printed.group(1)) - 100 * rates[name] / rates["http healthz baseline"]) <= 1, text

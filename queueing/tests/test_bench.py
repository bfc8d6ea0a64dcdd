from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from core.redis import redis_client


@pytest.mark.django_db
def test_bench_queue_scripts_part_runs_under_its_own_prefix_and_cleans_up():
    prefix = settings.REDIS_KEY_PREFIX
    out = StringIO()

    call_command("bench_queue", "--skip-http", "--seconds", "0.3", "--script-procs", "1", stdout=out)

    text = out.getvalue()
    assert "script poll (1 procs x pipeline 200)" in text
    assert "calls/s (target >= 50,000)" in text
    assert prefix == settings.REDIS_KEY_PREFIX
    bench_prefix = text.split("Redis prefix ")[1].split()[0]
    assert bench_prefix.startswith("bench:")
    assert list(redis_client().scan_iter(match=f"{bench_prefix}:*", count=1000)) == []

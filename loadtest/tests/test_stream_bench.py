import asyncio
import os
from io import StringIO

import psycopg
import pytest

from core.redis import redis_client
from drills.stack import ROOT, db_url
from loadtest.stream_bench import PROCESSES, Side, in_slices, main, rows


class _FakeSide(Side):
    """A side whose CPU is a counter the test moves, to see which slices it is charged for."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, stack=None)
        self.clock = dict.fromkeys(PROCESSES, 0.0)

    def cpu_now(self) -> dict[str, float]:
        return dict(self.clock)


def test_each_side_is_charged_for_its_own_slices_and_the_first_side_alternates():
    sides = [_FakeSide("this"), _FakeSide("other")]
    order = []

    async def work(side: Side, index: int) -> None:
        order.append((side.name, index))
        side.calls += 1
        side.clock["event loop"] += 0.001  # this call's CPU, on its own side only

    started = asyncio.run(in_slices(sides, work, rate=100, slices=3, slice_s=0.02))

    assert started == 12
    assert [name for name, _ in order[::2]] == ["this", "other", "other", "this", "this", "other"]
    assert [index for _, index in order] == list(range(12))
    for side in sides:
        assert side.calls == 6
        assert side.cpu_s["event loop"] == pytest.approx(0.006)
    assert rows("openings", sides, seconds=1)[-1].split()[3] == "+0.0%"


@pytest.mark.drill
def test_a_short_run_beside_a_second_checkout_measures_every_kind_of_call_and_cleans_up():
    name, prefix = f"stagegate_bench_streams_test_{os.getpid()}", f"bench-streams-test-{os.getpid()}"
    out = StringIO()

    small = ["--fans", "500", "--held", "120", "--rate", "40", "--entry-rate", "100", "--slices", "2"]
    small += ["--slice-seconds", "1", "--compare", str(ROOT), "--db", name, "--prefix", prefix]

    assert main(small, out=out) == 0

    calls = {(line[:16].strip(), line[17:25].strip()): int(line[26:33]) for line in out.getvalue().splitlines()[2:]
             if line[:16].strip()}  # fmt: skip
    for kind in ("entries", "stream openings", "refusals", "statuses", "heartbeats"):
        for side in ("this", "other"):
            assert calls[(kind, side)] > 0, out.getvalue()
    assert "this vs other" in out.getvalue()
    assert "ended early" not in out.getvalue()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(db_url(name)).close()
    assert list(redis_client().scan_iter(match=f"{prefix}:*", count=1000)) == []

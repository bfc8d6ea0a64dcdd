"""scripts/loadtest itself: what it refuses before touching anything."""

import os

import psycopg

from drills.stack import db_drop, db_recreate, db_url
from loadtest import run


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
    phases = {name: {"while_entering": during, "after": {"n": 0}} for name in ("shows", "seats", "hold", "pay")}
    phases |= {"entered_by_s": 14.2, "holds_by_10_s": [{"from_s": 0, **during}, {"from_s": 10, "n": 0}]}

    lines = run._phase_lines(phases)

    assert lines[-1].endswith("from the first entry: n, p95 ms: 0-10 s 3, 2000, 10-20 s 0, -")

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

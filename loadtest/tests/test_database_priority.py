"""The database's processes at the rush's priority and back (loadtest.database_priority), on a
stand-in process tree: a session leader (as PostgreSQL makes each of its processes) with children,
one of which starts after the raise, as a backend does when a pool connects."""

import os
import subprocess
import sys
import time

import pytest

from drills.stack import child_pids
from loadtest.database_priority import DatabasePriority


def priorities(pid: int) -> tuple[int, str]:
    with open(f"/proc/{pid}/autogroup") as fh:
        return os.getpriority(os.PRIO_PROCESS, pid), fh.read().split()[-1]


@pytest.fixture
def server_tree():
    # A child now, and one more after 0.5 s, each a session of its own as PostgreSQL makes them.
    child = "subprocess.Popen(['sleep', '30'], start_new_session=True)"
    parent = f"import subprocess, time; {child}; time.sleep(0.5); {child}; time.sleep(30)"
    tree = subprocess.Popen([sys.executable, "-c", parent], start_new_session=True)
    yield tree
    tree.kill()
    for pid in child_pids(tree.pid):
        os.kill(pid, 9)
    tree.wait()


def test_every_process_is_raised_while_the_rush_runs_and_put_back_after(server_tree):
    if os.geteuid() != 0:
        pytest.skip("putting a process back to nice 0 after 5 needs root or CAP_SYS_NICE")
    time.sleep(0.3)
    first = child_pids(server_tree.pid)

    with DatabasePriority(server_tree.pid, 5, period=0.05) as database:
        time.sleep(1.0)
        later = [pid for pid in child_pids(server_tree.pid) if pid not in first]
        during = {pid: priorities(pid) for pid in [server_tree.pid, *first, *later]}

    assert database.granted and first and later
    assert set(during.values()) == {(5, "5")}
    assert {priorities(pid) for pid in [server_tree.pid, *first, *later]} == {(0, "0")}


def test_without_a_database_process_nothing_is_raised():
    with DatabasePriority(None, -5) as database:
        pass
    assert not database.granted and database.raised == set()

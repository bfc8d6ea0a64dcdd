"""PostgreSQL at the booking path's CPU priority for the rush (loadtest.run, `--database-nice`).

Every hold and payment waits on PostgreSQL a dozen times, and on this one machine its backends
compete for the two cores with the raised booking pool and load generator. PostgreSQL makes each
of its processes a session leader, so under the kernel's autogroup scheduling each backend is a
scheduling group of its own at nice 0 (see drills.stack.at_priority): in the entering minute a
backend waited about 1.3 ms for a core at each wake-up. Raised like the booking pool, its
processes and their groups, for the rush only: new backends appear as the pools connect, so the
raise is applied again every `period` seconds, and every process is put back as the server was
at the end.
The machine's PostgreSQL serves other databases too (the test suite's): this is a benchmark's
setting, not the service's (docs/loadtest.md).

Raising needs root or CAP_SYS_NICE; without it, nothing changes and `granted` says so.
"""

import os
import threading

from drills.stack import child_pids, process_priority_set


def _group_nice(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/autogroup") as fh:
            return int(fh.read().split()[-1])  # "/autogroup-123 nice 0"
    except (OSError, ValueError, IndexError):
        return None


class DatabasePriority(threading.Thread):
    def __init__(self, postmaster: int | None, nice: int, period: float = 0.5):
        super().__init__(daemon=True, name="database-priority")
        self.postmaster, self.nice, self.period = postmaster, nice, period
        # The server's priority before (its processes share it: a backend is forked from the
        # postmaster, and one forked after the raise inherits the raise), put back at the end.
        self.original: tuple[int, int | None] | None = None
        self.raised: set[int] = set()
        self.granted = False  # at least one process and its group were raised
        self.stopped = threading.Event()

    def apply(self) -> None:
        """Raise the processes not raised yet (each once: a pid seen before keeps its raise)."""
        if self.postmaster is None:
            return
        if self.original is None:
            try:
                self.original = (os.getpriority(os.PRIO_PROCESS, self.postmaster), _group_nice(self.postmaster))
            except OSError:
                return  # it has ended
        for pid in [self.postmaster, *child_pids(self.postmaster)]:
            # Refused: no privilege, or the process ended meanwhile (tried again next time).
            if pid not in self.raised and process_priority_set(pid, self.nice):
                self.raised.add(pid)
                self.granted = True

    def run(self) -> None:
        while not self.stopped.wait(self.period):
            self.apply()

    def __enter__(self) -> "DatabasePriority":
        self.apply()
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.join()
        if self.original is None:
            return
        nice, group_nice = self.original
        for pid in [self.postmaster, *child_pids(self.postmaster)]:  # the live ones, new ones too
            process_priority_set(pid, nice, group_nice)

"""What the load test reads from the server side, before and after the rush (loadtest.run):
/metrics of every web instance, and the CPU used so far by the stack's processes, PostgreSQL,
Redis, this script's children (the locust process) and the whole machine. Everything is read-only;
loadtest.figures turns two snapshots into the report's figures.

CPU comes from /proc (Linux): a process's utime + stime, plus cutime + cstime, the CPU of its
children it has already reaped. Summed over a live process tree this counts every process that
ever ran in it, so a gunicorn worker recycled mid-rush (max_requests) is still counted: its CPU
moves to the master's cutime when the master reaps it.
"""

import http.client
import os
import resource
import threading
import time
from dataclasses import dataclass

import psycopg
import redis

from drills.stack import Proc, Stack, child_pids
from loadtest.figures import Samples, parse_metrics, subtract_samples

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Snapshot:
    at: float  # time.monotonic()
    web_names: list[str]  # the gunicorn instances (stack process names)
    scraped_names: list[str]  # the instances whose /metrics is read: gunicorn and uvicorn (API-key entries)
    web_metrics: dict[str, Samples]  # /metrics of each instance that answered, by name
    scrape_errors: list[str]
    cpu_s: dict[str, float | None]  # CPU-seconds so far per group: web, proxy, worker, beat, postgresql, redis
    proc_cpu_s: dict[str, float]  # CPU-seconds so far per process of the stack (its tree), by name
    machine_busy_s: float  # every core's non-idle time since boot
    children_cpu_s: float  # this process's reaped children: the rush (locust) once it returned


def process_cpu_seconds(pids: list[int]) -> float:
    """utime + stime + cutime + cstime of each process (0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                # The command name, in parentheses, may hold spaces: split after it.
                fields = fh.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        total += sum(int(value) for value in fields[11:15])  # fields 14-17 of proc(5)
    return total / CLOCK_TICKS


def process_run_queue(pids: list[int]) -> tuple[float, int]:
    """Seconds the threads of these processes spent runnable but waiting for a core, and how many
    times they were put on one (/proc/<pid>/task/<tid>/schedstat: run time, run-queue wait, slices).
    Live threads only: a thread that ended takes its figures with it."""
    waited_ns = slices = 0
    for pid in pids:
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for tid in threads:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    _, waited, runs = fh.read().split()
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
            waited_ns += int(waited)
            slices += int(runs)
    return waited_ns / 1e9, slices


def machine_busy_seconds() -> float:
    """Core-seconds every CPU of the machine was busy since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLOCK_TICKS


def postmaster_pid(database_url: str) -> int | None:
    """The PostgreSQL server's main process: the parent of our own backend. None if it is not
    visible here (another machine or container)."""
    try:
        with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        with open(f"/proc/{backend}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])  # field 4: the parent's pid
    except (psycopg.Error, OSError, ValueError, IndexError):
        return None


def postgres_cpu_seconds(postmaster: int | None) -> float | None:
    """Every PostgreSQL process: the postmaster, its live children (backends, checkpointer...)
    and, via its cutime, the backends that already ended. The whole server: other databases too."""
    if postmaster is None or not os.path.exists(f"/proc/{postmaster}"):
        return None
    return process_cpu_seconds([postmaster, *child_pids(postmaster)])


def redis_cpu_seconds(redis_url: str) -> float | None:
    """redis-server's own CPU (INFO cpu: every thread, and forked children). The whole server."""
    try:
        info = redis.Redis.from_url(redis_url, socket_timeout=5).info("cpu")
    except redis.RedisError:
        return None
    keys = ("used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children")
    return sum(float(info.get(key, 0)) for key in keys)


def scrape(web: Proc, token: str | None = None) -> Samples:
    """/metrics of one instance (a gunicorn pool: the sum of its workers), with the stack's METRICS_TOKEN."""
    status, body = web.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=15)
    if status != 200:
        raise ValueError(f"/metrics answered {status}")
    return parse_metrics(body.decode())


def snapshot(stack: Stack, *, postmaster: int | None, redis_url: str) -> Snapshot:
    # The gunicorn instances themselves (kind "web"), not anything in front of them, and uvicorn
    # (kinds "events" and "reads"), which record the latency of the entries and booking reads they serve
    # (queueing.entering, reservations.booking_reads).
    webs = [proc for proc in stack.procs if proc.kind in ("web", "events", "reads")]
    per_proc = {proc.name: process_cpu_seconds(proc.tree_pids()) for proc in stack.procs}
    cpu: dict[str, float | None] = {}
    for proc in stack.procs:  # grouped by kind: web (gunicorn), proxy, worker, beat
        cpu[proc.kind] = (cpu.get(proc.kind) or 0.0) + per_proc[proc.name]
    cpu["postgresql"] = postgres_cpu_seconds(postmaster)
    cpu["redis"] = redis_cpu_seconds(redis_url)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    at, busy = time.monotonic(), machine_busy_seconds()
    metrics, errors = {}, []
    for web in webs:
        try:
            metrics[web.name] = scrape(web, stack.config.extra_env.get("METRICS_TOKEN"))
        except (OSError, http.client.HTTPException, ValueError) as exc:  # counted as nothing; the report lists it
            errors.append(f"{web.name} {web.address}: {exc}")
    return Snapshot(
        at=at,
        web_names=[web.name for web in webs if web.kind == "web"],
        scraped_names=[web.name for web in webs],
        web_metrics=metrics,
        scrape_errors=errors,
        cpu_s=cpu,
        proc_cpu_s=per_proc,
        machine_busy_s=busy,
        children_cpu_s=children.ru_utime + children.ru_stime,
    )


def metrics_delta(before: Snapshot, after: Snapshot) -> dict[str, Samples]:
    """Per instance (gunicorn and uvicorn): what its /metrics counted during the rush (nothing if
    it did not answer at the end)."""
    return {
        name: subtract_samples(after.web_metrics.get(name, {}), before.web_metrics.get(name, {}))
        for name in after.scraped_names
    }


def cpu_delta(before: dict[str, float | None], after: dict[str, float | None]) -> dict[str, float | None]:
    """CPU-seconds per key between two snapshots' readings (None where either could not be read)."""
    out: dict[str, float | None] = {}
    for key, value in after.items():
        start = before.get(key)
        out[key] = value - start if value is not None and start is not None else None
    return out


class CpuTimeline(threading.Thread):
    """Every `period` seconds during the rush, the CPU-seconds so far of each stack process (its
    tree), PostgreSQL, Redis, the load generator and the whole machine, and each process's wait for
    a core (process_run_queue), stamped with time.time(): the report splits them at the moment the
    last fan entered (the opening, when the cores are full, against the rest). Reads /proc and one
    Redis INFO per sample."""

    def __init__(
        self, stack: Stack, *, postmaster: int | None, redis_url: str, load_generator: int, period: float = 1.0
    ):
        super().__init__(daemon=True, name="cpu-timeline")
        self.stack, self.postmaster, self.redis_url = stack, postmaster, redis_url
        self.load_generator, self.period = load_generator, period
        self.samples: list[tuple[float, dict[str, float | None]]] = []
        self.stopped = threading.Event()

    def sample(self) -> None:
        trees = {proc.name: proc.tree_pids() for proc in self.stack.procs}
        if self.postmaster:
            trees["postgresql"] = [self.postmaster, *child_pids(self.postmaster)]
        trees["locust"] = [self.load_generator, *child_pids(self.load_generator)]  # its workers
        cpu: dict[str, float | None] = {name: process_cpu_seconds(pids) for name, pids in trees.items()}
        cpu["redis"] = redis_cpu_seconds(self.redis_url)
        if not os.path.exists(f"/proc/{self.load_generator}"):
            return  # the rush has ended (and its process was reaped: its CPU reads 0 now)
        cpu["machine"] = machine_busy_seconds()
        # The run queue's wait, as "<name> waited" and "<name> slices": on a full machine a call's
        # time goes there, at every wake-up after a round trip.
        for name, pids in trees.items():
            cpu[f"{name} waited"], cpu[f"{name} slices"] = process_run_queue(pids)
        self.samples.append((time.time(), cpu))

    def run(self) -> None:
        while not self.stopped.wait(self.period):
            self.sample()

    def cores_between(self, start: float, end: float) -> dict[str, float | None]:
        """Each name's CPU between the samples nearest `start` and `end` (time.time()), in cores
        (1.0 = one core busy the whole time); {} without two distinct samples."""
        if len(self.samples) < 2:
            return {}
        first = min(self.samples, key=lambda sample: abs(sample[0] - start))
        last = min(self.samples, key=lambda sample: abs(sample[0] - end))
        window = last[0] - first[0]
        if window <= 0:
            return {}
        delta = cpu_delta(first[1], last[1])
        return {name: None if seconds is None else round(seconds / window, 3) for name, seconds in delta.items()}

"""Start and stop the service's processes (gunicorn web, Celery worker, Celery beat) against a
given PostgreSQL database, Redis and key prefix: used by the multi-instance drill test, the fault
drills (scripts/drill) and the load test (scripts/loadtest). A PgBouncer (`PgBouncer`) can sit
between the processes and PostgreSQL, and `PgConnectionSampler` watches the server connections.

Every process runs in its own session (process group), so stopping it also stops gunicorn's
workers and Celery's pool children; `Stack` stops everything it started on exit, even on error.
Nothing here imports Django, so a plain script can drive a stack without settings.

    with Stack(StackConfig(database_url=db_url("stagegate_load"), redis_prefix="sgload"), "var/x") as stack:
        web = stack.start_web("web1", workers=3)
        stack.start_worker("worker1")
        stack.start_beat("beat1")
        stack.wait_ready(web)
"""

import contextlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("DRILL_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# manage.py commands that make a new database ready for a stack, as scripts/run does.
SETUP_STEPS = (
    ("migrate", "--noinput", "-v", "0"),
    ("collectstatic", "--noinput", "-v", "0"),
    ("setup_periodic_tasks",),
)
# What a Celery worker and beat print once they are up.
READY_MARKS = {"worker": " ready.", "beat": "beat: Starting"}


def process_priority_set(pid: int, nice: int, group_nice: int | None = None) -> bool:
    """A running process at CPU priority `nice`, and its session's scheduling group at
    `group_nice` (default: `nice`; see at_priority). False when the kernel refuses (a raise
    without root or CAP_SYS_NICE) or the process has ended; the group is set only once the
    process is."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
        with open(f"/proc/{pid}/autogroup", "w") as fh:
            fh.write(str(nice if group_nice is None else group_nice))
    except OSError:
        return False
    return True


def at_priority(argv: list[str], nice: int) -> list[str]:
    """argv run at CPU priority `nice` (a positive one lowers it; a negative one raises it and needs
    root or CAP_SYS_NICE). Each process here starts its own session, and with the kernel's
    autogroup scheduling (Linux's default, /proc/sys/kernel/sched_autogroup_enabled) sessions
    compete with each other as equal groups: `nice` alone then weighs only against the session's
    own processes and changes nothing for the rest of the machine. So the session's group is
    niced too (/proc/self/autogroup; lowering needs no privilege; the kernel refuses more than
    one such write per 0.1 s machine-wide, hence the retries)."""
    lower_group = (
        f"if [ -w /proc/self/autogroup ]; then for _ in 1 2 3 4 5 6 7 8 9 10; do "
        f"echo {nice} 2>/dev/null >/proc/self/autogroup && break; sleep 0.1; done; fi"
    )
    return ["sh", "-c", f'{lower_group}; exec nice -n {nice} "$@"', "sh", *argv]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def db_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def db_recreate(name: str) -> None:
    """Drop the database (closing its connections) and create it empty."""
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def db_drop(name: str) -> None:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def db_terminate_connections(name: str) -> int:
    """pg_terminate_backend every connection to this one database (not the caller's): the
    'PostgreSQL connections drop' fault. Returns how many were ended."""
    with _pg_admin() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)


def db_connection_count(name: str) -> int:
    with _pg_admin() as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]


def redis_prefix_clear(redis_url: str, prefix: str) -> int:
    """Delete every key under `prefix:` (queue, cache, Celery broker keys of the stack)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deleted = 0
    batch = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    return deleted


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (gunicorn workers of a master, Celery pool processes)."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                children += [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        pass
    return children


# Every waiting fan near the front keeps a connection open (their event stream): HAProxy spends
# two descriptors on it (the fan's and uvicorn's), uvicorn one. A Stack raises its descriptor
# limit to this where the machine allows it, before it starts anything (scripts/run and docker
# compose set the same), and HAProxy's maxconn follows from the limit in force.
OPEN_FILES_WANTED = 200_000


def open_files_raise(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raise this process's descriptor limit (inherited by the processes it starts) towards
    `wanted`: past the hard limit where that is allowed (root, up to the kernel's nr_open), else
    up to the hard limit. Returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        unlimited = hard == resource.RLIM_INFINITY
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard if unlimited else max(wanted, hard)))
        except (ValueError, OSError):
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# Entries and leaves the event-stream pool's loop serves at once (queueing.entering; most of them
# wait for their batch of Redis calls, QUEUE_REDIS_BATCH_SECONDS); HAProxy queues the rest.
ENTER_SLOTS = 128
# Reads the booking reads' loop serves at once (reservations.booking_reads); likewise.
READS_SLOTS = 32


def proxy_maxconn(open_files: int) -> int:
    """HAProxy's connection limit for a descriptor limit: two per connection, some to spare."""
    return max(1_000, (open_files - 1_000) // 2)


def proxy_env(
    *,
    listen: str,
    queue_web: str,
    queue_slots: int,
    booking_web: str,
    booking_slots: int,
    events_web: str,
    reads_web: str,
    reads_slots: int,
    enter_slots: int = ENTER_SLOTS,
    code_root: Path = ROOT,
) -> dict:
    """The environment config/haproxy/stagegate.cfg reads: where to listen, the pools and how
    many requests each takes at once (a gunicorn pool: its workers x threads; the event loop:
    `enter_slots` entries; the booking reads' loop: `reads_slots`)."""
    return {
        "STAGEGATE_PROXY_DIR": str(code_root / "config" / "haproxy"),
        "STAGEGATE_PROXY_MAXCONN": str(proxy_maxconn(resource.getrlimit(resource.RLIMIT_NOFILE)[0])),
        "STAGEGATE_LISTEN": listen,
        "STAGEGATE_QUEUE_WEB": queue_web,
        "STAGEGATE_QUEUE_SLOTS": str(queue_slots),
        "STAGEGATE_BOOKING_WEB": booking_web,
        "STAGEGATE_BOOKING_SLOTS": str(booking_slots),
        "STAGEGATE_EVENTS_WEB": events_web,
        "STAGEGATE_ENTER_SLOTS": str(enter_slots),
        "STAGEGATE_READS_WEB": reads_web,
        "STAGEGATE_READS_SLOTS": str(reads_slots),
    }


class RedisServer:
    """A redis-server of a drill's own on 127.0.0.1:port, keeping nothing on disk like the
    machine's: stopping it is the 'Redis restart' fault, and nobody else uses it."""

    def __init__(self, port: int, log_dir: str | Path) -> None:
        self.port = port
        self.log = Path(log_dir) / f"redis-{port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--logfile", str(self.log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.RedisError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"redis-server on {self.port} did not start (see {self.log})")

    def kill(self) -> None:
        """SIGKILL: everything in it is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class RedisClusterServers:
    """A Redis Cluster of a drill's own: 3 masters and 3 replicas of Debian's redis-server on free
    ports of 127.0.0.1 (the cluster bus on port + 10000), nothing on disk but each node's table
    (under log_dir), a 2 s node timeout so a replica takes over a dead master within seconds.
    The same layout as scripts/redis-cluster.sh; here each node is a child process, so a drill
    can kill -9 one."""

    NODE_TIMEOUT_MS = 2000

    def __init__(self, log_dir: str | Path, *, aof: bool = False) -> None:
        self.dir = Path(log_dir) / "redis-cluster"
        self.nodes: dict[int, subprocess.Popen] = {}
        # aof: each node also writes an append-only file, fsynced every second (as compose runs
        # its Redis), to measure what persistence changes in a failover.
        self.persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if aof else ["--appendonly", "no"]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{next(iter(self.nodes))}/0"

    def start(self) -> None:
        import redis

        ports: list[int] = []
        while len(ports) < 6:
            port = free_port()
            if port < 55535 and port not in ports and _port_free(port + 10000):
                ports.append(port)
        for port in ports:
            node_dir = self.dir / str(port)
            node_dir.mkdir(parents=True, exist_ok=True)
            self.nodes[port] = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", str(self.NODE_TIMEOUT_MS), "--save", "", *self.persistence,
                 "--logfile", str(node_dir / "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        for port in ports:
            self._wait(lambda port=port: redis.Redis(port=port).ping(), f"redis-server on {port} did not start")
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        for port in ports:
            self._wait(lambda port=port: self.state_ok(port), f"cluster node {port} never reached cluster_state:ok")

    def state_ok(self, port: int) -> bool:
        import redis

        return redis.Redis(port=port).execute_command("CLUSTER INFO").get("cluster_state") == "ok"

    @staticmethod
    def _wait(check, message: str, seconds: float = 20) -> None:
        import redis

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(message)

    def master_of_slot(self, slot: int, *, ask: int) -> int | None:
        """The port of the master serving `slot`, as the node on port `ask` sees it."""
        found = self.nodes_of_slot(slot, ask=ask)
        return found[0] if found else None

    def nodes_of_slot(self, slot: int, *, ask: int) -> list[int]:
        """The ports serving `slot` as the node on port `ask` sees it: the master, then its replicas."""
        import redis

        for start, end, *nodes in redis.Redis(port=ask).execute_command("CLUSTER SLOTS"):
            if start <= slot <= end:
                return [int(node[1]) for node in nodes]
        return []

    def kill9(self, port: int) -> int:
        proc = self.nodes[port]
        proc.kill()
        proc.wait(timeout=10)
        return proc.pid

    def stop(self) -> None:
        for proc in self.nodes.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class PgBouncer:
    """PgBouncer in transaction pooling mode (config/pgbouncer/start.sh and pgbouncer.ini, as in
    compose and scripts/run) on 127.0.0.1:port in front of this machine's PostgreSQL: any number
    of client connections share at most `pool_size` server connections per database. Its ini and
    auth file go under `run_dir`. `strict` discards the server's session state after every
    transaction, so a process relying on any fails at once rather than now and then."""

    def __init__(self, port: int, run_dir: str | Path, *, pool_size: int, strict: bool = False) -> None:
        self.port = port
        self.pool_size = pool_size
        self.strict = strict
        self.dir = Path(run_dir) / f"pgbouncer-{port}"
        self.log = self.dir / "pgbouncer.log"
        self.proc: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        """The URL of database `name` through this PgBouncer."""
        user = urllib.parse.urlsplit(PG_ADMIN_URL).username or "postgres"
        return f"postgres://{user}@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        server = urllib.parse.urlsplit(PG_ADMIN_URL)
        env = os.environ | {
            "PGBOUNCER_DIR": str(self.dir),
            "PGBOUNCER_PORT": str(self.port),
            "PGBOUNCER_POOL_SIZE": str(self.pool_size),
            "PGBOUNCER_SERVER_HOST": server.hostname or "127.0.0.1",
            "PGBOUNCER_SERVER_PORT": str(server.port or 5432),
            "PGBOUNCER_USER": server.username or "postgres",
            "PGBOUNCER_STRICT": "1" if self.strict else "0",
        }
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                [str(ROOT / "config" / "pgbouncer" / "start.sh")],
                env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"pgbouncer on {self.port} did not start:\n{self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            _killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class PgConnectionSampler(threading.Thread):
    """Counts the server connections to database `name` in pg_stat_activity every `interval`
    seconds until stopped (its own connection is to the admin database, so it never counts
    itself). Given the PgBouncer in front, it also counts that database's client connections
    there (SHOW POOLS: active and waiting for a server connection)."""

    def __init__(self, name: str, *, pgbouncer: PgBouncer | None = None, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.database = name
        self.pgbouncer = pgbouncer
        self.interval = interval
        self.samples = 0
        self.peak = 0  # server connections
        self.peak_clients = 0
        self.peak_waiting = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psycopg

        with contextlib.ExitStack() as stack:
            server = stack.enter_context(_pg_admin())
            stats = None
            if self.pgbouncer:
                # The admin console takes only simple queries: never a prepared statement.
                stats = stack.enter_context(
                    psycopg.connect(self.pgbouncer.url("pgbouncer"), autocommit=True, prepare_threshold=None)
                )
            while not self._stop_event.is_set():
                (count,) = server.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.database]
                ).fetchone()
                self.peak = max(self.peak, count)
                if stats:
                    pools = stats.execute("SHOW POOLS")
                    columns = [column.name for column in pools.description]
                    for row in pools.fetchall():
                        pool = dict(zip(columns, row, strict=True))
                        if pool["database"] == self.database:
                            self.peak_clients = max(self.peak_clients, pool["cl_active"] + pool["cl_waiting"])
                            self.peak_waiting = max(self.peak_waiting, pool["cl_waiting"])
                self.samples += 1
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


class SetupFailed(RuntimeError):
    """A step making a stack's database ready failed; the message is what it printed."""


@dataclass
class StackConfig:
    database_url: str
    redis_prefix: str
    redis_url: str = DEFAULT_REDIS_URL
    # The waiting room's Redis Cluster (settings.REDIS_CLUSTER_URL); empty: on redis_url.
    redis_cluster_url: str = ""
    # Persistent DB connections per thread (seconds); 0 closes them after each request.
    conn_max_age: int = 60
    # "pgbouncer" when database_url is a PgBouncer's (settings.DATABASE_POOLER).
    database_pooler: str = ""
    settings_module: str = "drills.settings"
    extra_env: dict[str, str] = field(default_factory=dict)
    # The checkout whose code the processes run: another one (a git worktree of an older commit)
    # lets a benchmark run two versions side by side (loadtest.stream_bench --compare).
    code_root: Path = ROOT

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "DJANGO_", "GUNICORN_", "CELERY_", "DATABASE_", "REDIS_"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": self.settings_module,
                "DATABASE_URL": self.database_url,
                "DATABASE_CONN_MAX_AGE": str(self.conn_max_age),
                "DATABASE_POOLER": self.database_pooler,
                "REDIS_URL": self.redis_url,
                "REDIS_CLUSTER_URL": self.redis_cluster_url,
                "CELERY_BROKER_URL": self.redis_url,
                "REDIS_KEY_PREFIX": self.redis_prefix,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env


@dataclass
class Proc:
    name: str
    kind: str  # web (gunicorn), events and reads (uvicorn), proxy (HAProxy), worker, beat
    popen: subprocess.Popen
    log: Path
    port: int | None = None
    # A pool behind the proxy listens on a unix socket instead of a port, as scripts/run deploys it.
    unix_socket: Path | None = None
    slots: int = 0  # a web pool behind the proxy: requests it serves at once (workers x threads)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        """Its base URL over TCP (a process with a port: a web instance on its own, the proxy)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        """Where the proxy reaches it, in HAProxy's notation (config/haproxy/stagegate.cfg)."""
        return f"unix@{self.unix_socket}" if self.unix_socket else f"127.0.0.1:{self.port}"

    def get(self, path: str, *, headers: dict[str, str] | None = None, timeout: float = 2) -> tuple[int, bytes]:
        """GET `path` from this process itself (over its unix socket or its port): status and body."""
        if self.unix_socket:
            conn: http.client.HTTPConnection = _UnixHTTPConnection(self.unix_socket, timeout=timeout)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def children(self) -> list[int]:
        return child_pids(self.pid)

    def tree_pids(self) -> list[int]:
        """This process and all its live descendants (read-only; the load test's CPU accounting)."""
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo += child_pids(pid)
        return pids

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class _UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket: the pools behind the proxy listen on one."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_socket = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.unix_socket))


class Stack:
    """The processes of one deployment of the service on this machine."""

    def __init__(self, config: StackConfig, log_dir: str | Path) -> None:
        self.config = config
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # The pools' unix sockets: a short path of their own (a socket's path has at most 107 bytes,
        # which a test's log directory can exceed), made with the first pool (a stack that only runs
        # manage.py makes none).
        self._socket_dir: Path | None = None
        self.procs: list[Proc] = []
        # Before any process starts: each inherits the limit (the proxy and uvicorn need it most).
        open_files_raise()

    # -- context manager: everything started is stopped, whatever happens -----------------------
    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    def _socket_path(self, name: str) -> Path:
        if self._socket_dir is None:
            self._socket_dir = Path(tempfile.mkdtemp(prefix="stagegate-stack-"))
        return self._socket_dir / f"{name}.sock"

    # -- processes ----------------------------------------------------------------------------
    def _spawn(
        self,
        name: str,
        kind: str,
        argv: list[str],
        env: dict[str, str],
        *,
        port: int | None = None,
        unix_socket: Path | None = None,
    ) -> Proc:
        log = self.log_dir / f"{name}.log"
        fh = open(log, "ab")  # noqa: SIM115 - kept by the child; closed below in the parent
        try:
            popen = subprocess.Popen(
                argv,
                cwd=self.config.code_root,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            fh.close()
        proc = Proc(name=name, kind=kind, popen=popen, log=log, port=port, unix_socket=unix_socket)
        self.procs.append(proc)
        return proc

    def start_web(
        self,
        name: str,
        *,
        port: int | None = None,
        workers: int = 2,
        threads: int = 4,
        access_log: bool = False,
        behind_proxy: bool = False,
        nice: int = 0,
    ) -> Proc:
        """gunicorn with config/gunicorn.py (gthread workers) on 127.0.0.1:port. Behind the proxy
        (start_pool) it listens on a unix socket instead, as scripts/run deploys it, trusts one
        proxy's X-Forwarded-For and takes only as many connections per worker as it has threads;
        `nice` lowers its CPU priority."""
        env = self.config.env()
        env.update(
            {
                "GUNICORN_WORKERS": str(workers),
                "GUNICORN_THREADS": str(threads),
                "GUNICORN_ACCESS_LOG": "-" if access_log else "",
            }
        )
        unix_socket = None
        if behind_proxy:
            port, unix_socket = None, self._socket_path(name)
            env.update(
                {
                    "GUNICORN_BIND": f"unix:{unix_socket}",
                    "GUNICORN_WORKER_CONNECTIONS": str(threads),
                    "NUM_PROXIES": "1",
                }
            )
        else:
            port = port or free_port()
            env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
        gunicorn_config = self.config.code_root / "config" / "gunicorn.py"
        argv = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", str(gunicorn_config)]
        if nice:
            argv = at_priority(argv, nice)
        proc = self._spawn(name, "web", argv, env, port=port, unix_socket=unix_socket)
        proc.slots = workers * threads
        return proc

    def start_pool(self, name: str, *, workers: int = 2, threads: int = 4, nice: int = 0) -> Proc:
        """A gunicorn pool behind HAProxy (start_proxy), on its unix socket. `nice` lowers its CPU
        priority (the waiting room's pool yields the CPU to booking when both want it)."""
        return self.start_web(name, workers=workers, threads=threads, behind_proxy=True, nice=nice)

    def start_events(self, name: str, *, nice: int = 0) -> Proc:
        """uvicorn with config/asgi.py behind HAProxy, on its unix socket: the waiting fans' event
        streams and API-key entries."""
        return self._start_uvicorn(name, "events", nice=nice)

    def start_booking_reads(self, name: str, *, nice: int = 0) -> Proc:
        """uvicorn with config/asgi.py behind HAProxy, on its unix socket: the admitted fans' shows
        and seat-map reads (reservations.booking_reads). `nice` lowers its CPU priority."""
        return self._start_uvicorn(name, "reads", nice=nice)

    def _start_uvicorn(self, name: str, kind: str, *, nice: int) -> Proc:
        unix_socket = self._socket_path(name)
        env = self.config.env() | {"NUM_PROXIES": "1"}
        argv = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--uds", str(unix_socket)]
        argv += ["--no-access-log", "--lifespan", "off", "--timeout-graceful-shutdown", "5"]
        if nice:
            argv = at_priority(argv, nice)
        return self._spawn(name, kind, argv, env, unix_socket=unix_socket)

    def start_proxy(
        self, name: str, *, queue: Proc, booking: Proc, events: Proc, reads: Proc | None = None, port: int | None = None
    ) -> Proc:
        """HAProxy on 127.0.0.1:port in front of the queue, booking, events and booking-reads
        pools (config/haproxy/stagegate.cfg); without `reads`, the booking pool serves those too."""
        port = port or free_port()
        env = self.config.env() | proxy_env(
            listen=f"127.0.0.1:{port}",
            queue_web=queue.address,
            queue_slots=queue.slots,
            booking_web=booking.address,
            booking_slots=booking.slots,
            events_web=events.address,
            reads_web=(reads or booking).address,
            reads_slots=READS_SLOTS if reads else booking.slots,
            code_root=self.config.code_root,
        )
        argv = ["haproxy", "-db", "-f", str(self.config.code_root / "config" / "haproxy" / "stagegate.cfg")]
        return self._spawn(name, "proxy", argv, env, port=port)

    def start_deployed_layout(self, *, reads: bool = False) -> dict[str, Proc]:
        """The deployed layout at its smallest, ready: HAProxy ("proxy") in front of the queue and
        booking pools (1 worker x 2 threads each), the events loop and, with `reads`, the booking
        reads' loop; each process by its name."""
        procs = {
            "queue": self.start_pool("queue", workers=1, threads=2),
            "booking": self.start_pool("booking", workers=1, threads=2),
            "events": self.start_events("events"),
        }
        if reads:
            procs["reads"] = self.start_booking_reads("reads")
        self.wait_all_ready(list(procs.values()))
        procs["proxy"] = self.start_proxy("proxy", **procs)
        self.wait_ready(procs["proxy"])
        return procs

    def start_worker(self, name: str, *, concurrency: int = 2, nice: int = 0) -> Proc:
        argv = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-n", f"{name}@%h",
            f"--concurrency={concurrency}", "--loglevel=INFO", "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        if nice:
            argv = at_priority(argv, nice)
        return self._spawn(name, "worker", argv, self.config.env())

    def start_beat(self, name: str) -> Proc:
        """Celery beat with the project's DatabaseScheduler (run setup_periodic_tasks first)."""
        argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
        argv += ["--pidfile=", f"--schedule={self.log_dir / (name + '-schedule')}"]
        return self._spawn(name, "beat", argv, self.config.env())

    def manage(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """python manage.py <args> with the stack's settings; output captured."""
        return self._python("manage.py", *args, timeout=timeout)

    def prepare_and_seed(self, *seed_args: str, out: Path, timeout: float = 900) -> dict:
        """A new database made ready as scripts/run does (SETUP_STEPS), then seeded by
        `python -m drills.seed <seed_args> --out <out>`; the seed's JSON (the concert, the fans).
        A failing step raises SetupFailed with what it printed."""
        for step in SETUP_STEPS:
            done = self.manage(*step)
            if done.returncode:
                raise SetupFailed(done.stdout + done.stderr)
        seeded = self._python("-m", "drills.seed", *seed_args, "--out", str(out), timeout=timeout)
        if seeded.returncode:
            raise SetupFailed(seeded.stdout + seeded.stderr)
        return json.loads(Path(out).read_text())

    def _python(self, *args: str, timeout: float) -> subprocess.CompletedProcess:
        """This interpreter on `args` in the stack's checkout, with its settings; output captured."""
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.config.code_root,
            env=self.config.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # -- readiness ----------------------------------------------------------------------------
    def wait_ready(self, proc: Proc, *, timeout: float = 60) -> None:
        """Web: /readyz answers 200. Worker: its log says ready. Beat: its log says Starting."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_text()[-3000:]}")
            if proc.kind in ("web", "proxy", "events", "reads"):
                try:
                    if proc.get("/readyz")[0] == 200:
                        return
                except (OSError, http.client.HTTPException):
                    pass
            elif proc.kind in READY_MARKS and READY_MARKS[proc.kind] in proc.log_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{proc.name} not ready after {timeout}s:\n{proc.log_text()[-3000:]}")

    def wait_all_ready(self, procs: Iterable[Proc] | None = None, *, timeout: float = 60) -> None:
        for proc in list(procs if procs is not None else self.procs):
            self.wait_ready(proc, timeout=timeout)

    # -- faults and stopping ------------------------------------------------------------------
    def kill9(self, proc: Proc) -> None:
        """SIGKILL the whole process group (a crash of the machine's process: no cleanup at all)."""
        _killpg(proc.pid, signal.SIGKILL)
        proc.popen.wait(timeout=10)

    def kill9_child(self, proc: Proc) -> int | None:
        """SIGKILL one child (a gunicorn worker, a Celery pool process); the parent survives.
        Returns the killed pid, or None if it had no child."""
        children = proc.children()
        if not children:
            return None
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def stop(self, proc: Proc, *, grace: float = 8) -> None:
        if proc.alive():
            _killpg(proc.pid, signal.SIGTERM)
            try:
                proc.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                proc.popen.wait(timeout=10)
        else:
            # The leader is gone; make sure no orphan of its group lives on.
            _killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            try:
                self.stop(proc)
            except Exception:  # noqa: BLE001 - stop the others whatever happens to one
                _killpg(proc.pid, signal.SIGKILL)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)

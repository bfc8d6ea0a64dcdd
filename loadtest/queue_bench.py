"""Benchmark of the waiting room: the Lua scripts alone, and the HTTP API under gunicorn.

    scripts/bench-queue [--seconds 5] [--clients 32] [--script-procs 2] [--skip-http]
                                                      (python -m loadtest.queue_bench --help)

Never touches real data: Redis keys go under a fresh prefix `bench:<run id>` (deleted at the
end), and the HTTP part runs against a throw-away PostgreSQL database `test_stagegate_bench_<run
id>` (created and migrated with Django's test-database machinery, dropped at the end), served by a
gunicorn started here with config/gunicorn.py (access log off, no worker recycling). The
baseline is /healthz, a bare Django JSON view behind the same middleware and gunicorn.

Printed per line: requests/s and p50/p99 latency (per call; for pipelined script lines, per
pipeline of --batch calls). Targets: HTTP poll >= 60% and HTTP enter >= 50% of /healthz's
requests/s; the poll script alone >= 50,000 calls/s.
"""

import argparse
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import django
import redis
from django.apps import apps
from django.conf import settings
from django.db import connection

from core.clock import clock
from drills.stack import redis_prefix_clear
from queueing.scripts import ENTER, POLL, concert_key, concert_keys, load_scripts

# A fake concert id for the script-only part (its keys live under the bench prefix only, and are
# deleted before the HTTP part, whose concert lives in the bench database).
SCRIPT_CONCERT_ID = 999_999_999


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int = 0
    server_cpu: float = 0.0  # CPU seconds the gunicorn workers spent (HTTP lines)

    @property
    def cpu_per_request_us(self) -> float:
        return self.server_cpu / self.requests * 1e6 if self.requests else 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


# --- the scripts alone -----------------------------------------------------------------------


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _script_worker(kind: str, worker: int, seconds: float, batch: int, users: int, queue) -> None:
    """One process: pipelines of `batch` EVALSHA calls on one connection, for `seconds`."""
    try:
        queue.put(_script_loop(kind, worker, seconds, batch, users))
    except BaseException:
        queue.put((0, []))  # never leave the parent waiting
        raise


def _script_loop(kind: str, worker: int, seconds: float, batch: int, users: int) -> tuple[int, list[float]]:
    client = _redis()
    conn = client.connection_pool.get_connection()
    keys = concert_keys(SCRIPT_CONCERT_ID)
    ip_counter = concert_key(SCRIPT_CONCERT_ID, f"rate:ip:127.0.0.{worker}:0")
    window = settings.QUEUE_RATE_WINDOW_SECONDS
    latencies, done, user = [], 0, worker * 10_000_000

    def poll_batch() -> list[bytes]:
        now = f"{time.time():.6f}"
        return conn.pack_commands(
            [
                ("EVALSHA", POLL.sha, len(keys), *keys, _bench_token(1 + (worker * batch + i) % users), now, window)
                for i in range(batch)
            ]
        )

    packed = poll_batch() if kind == "poll" else None
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if kind == "enter":
            now = f"{time.time():.6f}"
            commands = []
            ends = int(time.time()) // 60 * 60 + 60
            for _ in range(batch):
                user += 1
                # The rate limits are counted as a request's entry counts them (one fixed-window
                # counter per user, one for the address), at rates nobody reaches.
                counters = [concert_key(SCRIPT_CONCERT_ID, f"rate:user:{user}:0"), ip_counter]
                args = (user, _bench_token(user), now, 20, 1200, 10**9, window, 300, 0, "", 0, 10**9, ends, 10**9, ends)
                commands.append(("EVALSHA", ENTER.sha, len(keys) + 2, *keys, *counters, *args))
            packed = conn.pack_commands(commands)
        started = time.perf_counter()
        conn.send_packed_command(packed)
        for _ in range(batch):
            conn.read_response()
        latencies.append(time.perf_counter() - started)
        done += batch
    return done, latencies


def _bench_token(user: int) -> str:
    return f"{SCRIPT_CONCERT_ID}.bench{user:038d}"


def _run_script_procs(kind: str, procs: int, seconds: float, batch: int, users: int) -> Result:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_script_worker, args=(kind, w, seconds, batch, users, queue)) for w in range(procs)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    parts = [queue.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for w in workers:
        w.join()
    return Result(
        f"script {kind} ({procs} procs x pipeline {batch})",
        sum(done for done, _ in parts),
        min(elapsed, seconds) if elapsed < seconds * 1.5 else elapsed,
        [lat for _, lats in parts for lat in lats],
    )


def _run_script_single(kind: str, threads: int, seconds: float, users: int) -> Result:
    """Plain EVALSHA calls, one round trip each, from threads (latency as an app server sees it)."""
    client = _redis()
    keys = concert_keys(SCRIPT_CONCERT_ID)
    window = settings.QUEUE_RATE_WINDOW_SECONDS
    counts, lats, lock = [0], [], threading.Lock()

    def work(worker: int) -> None:
        mine, i = [], 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            i += 1
            token = _bench_token(1 + (worker * 7919 + i) % users)
            started = time.perf_counter()
            client.evalsha(POLL.sha, len(keys), *keys, token, f"{time.time():.6f}", window)
            mine.append(time.perf_counter() - started)
        with lock:
            counts[0] += len(mine)
            lats.extend(mine)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return Result(f"script {kind} single calls ({threads} threads)", counts[0], seconds, lats)


# --- HTTP ------------------------------------------------------------------------------------


def _http_worker(port: int, requests: list[list[bytes]], seconds: float, queue) -> None:
    """One client process: a thread per keep-alive connection, each cycling its own requests."""
    try:
        queue.put(_http_loop(port, requests, seconds))
    except BaseException:
        queue.put((0, [], 1))
        raise


def _http_loop(port: int, requests: list[list[bytes]], seconds: float) -> tuple[int, list[float], int]:
    lats, counts, errors, lock = [], [0], [0], threading.Lock()

    def work(request_cycle: list[bytes]) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine, bad, i = [], 0, 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            request = request_cycle[i % len(request_cycle)]
            i += 1
            started = time.perf_counter()
            sock.sendall(request)
            status, sock = _read_response(sock, port)
            mine.append(time.perf_counter() - started)
            if not 200 <= status < 300:
                bad += 1
        sock.close()
        with lock:
            lats.extend(mine)
            counts[0] += len(mine)
            errors[0] += bad

    pool = [threading.Thread(target=work, args=(cycle,)) for cycle in requests]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return counts[0], lats, errors[0]


def _read_response(sock: socket.socket, port: int) -> tuple[int, socket.socket]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:  # the server closed the connection: report and reconnect
            return 599, socket.create_connection(("127.0.0.1", port))
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    if b"connection: close" in head.lower():
        sock.close()
        sock = socket.create_connection(("127.0.0.1", port))
    return status, sock


def _process_tree_cpu(root_pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids, total = [root_pid], 0.0
    while pids:
        pid = pids.pop()
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{pid}/task/{pid}/children") as children:
                pids += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return total


def _run_http(name: str, port: int, cycles: list[list[bytes]], procs: int, seconds: float) -> Result:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    share = [cycles[p::procs] for p in range(procs)]
    workers = [ctx.Process(target=_http_worker, args=(port, part, seconds, queue)) for part in share if part]
    for w in workers:
        w.start()
    parts = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    return Result(
        f"http {name} ({len(cycles)} connections)",
        sum(p[0] for p in parts),
        seconds,
        [lat for p in parts for lat in p[1]],
        sum(p[2] for p in parts),
    )


def _request(method: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if method == "POST":
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def main(argv: list[str] | None = None, stdout=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    Bench.add_arguments(parser)
    parser.add_argument("-v", "--verbosity", type=int, default=1, help="2: also each HTTP line's sequential latency")
    options = vars(parser.parse_args(argv))
    if not apps.ready:  # run as a script (scripts/bench-queue), not from within Django
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        django.setup()
    Bench(stdout or sys.stdout).handle(**options)
    return 0


class _Lines:
    """Writes whole lines to a text stream."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


class Bench:
    """Measure the waiting room's enter and poll throughput: the scripts alone and through HTTP."""

    def __init__(self, stdout) -> None:
        self.stdout = _Lines(stdout)

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--seconds", type=float, default=5.0, help="Length of each measurement")
        parser.add_argument("--clients", type=int, default=32, help="Concurrent HTTP connections")
        parser.add_argument("--client-procs", type=int, default=2, help="Processes driving the HTTP clients")
        parser.add_argument("--script-procs", type=int, default=2, help="Processes driving the pipelined scripts")
        parser.add_argument("--batch", type=int, default=200, help="Calls per pipeline (script part)")
        parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: config)")
        parser.add_argument("--rounds", type=int, default=3, help="HTTP lines run interleaved in this many rounds")
        parser.add_argument("--skip-http", action="store_true", help="Only the scripts")
        parser.add_argument("--entering-fans", type=int, default=60_000, help="New fans the HTTP enter line cycles")

    def handle(self, **options) -> None:
        run_id = secrets.token_hex(4)
        real_prefix = settings.REDIS_KEY_PREFIX
        settings.REDIS_KEY_PREFIX = f"bench:{run_id}"
        self.stdout.write(f"bench run {run_id}: Redis prefix {settings.REDIS_KEY_PREFIX}")
        results: list[Result] = []
        try:
            results += self._bench_scripts(options)
            if not options["skip_http"]:
                results += self._bench_http(options, run_id)
        finally:
            redis_prefix_clear(settings.REDIS_URL, settings.REDIS_KEY_PREFIX)
            settings.REDIS_KEY_PREFIX = real_prefix
        self._report(results)

    # --- parts ---

    def _bench_scripts(self, options) -> list[Result]:
        load_scripts(_redis())
        seconds, batch, procs = options["seconds"], options["batch"], options["script_procs"]
        self.stdout.write("scripts: enter ...")
        enter = _run_script_procs("enter", procs, seconds, batch, users=0)
        users = min(enter.requests, 100_000)
        self.stdout.write(f"scripts: poll ({users} waiting) ...")
        # Tokens of users 1..users exist: worker w entered users w*10M+1, ... ; poll those of worker 0.
        poll = _run_script_procs("poll", procs, seconds, batch, users=max(1, users // procs))
        single = _run_script_single("poll", 16, seconds, users=max(1, users // procs))
        keys = concert_keys(SCRIPT_CONCERT_ID)
        probe = _redis().evalsha(POLL.sha, len(keys), *keys, _bench_token(1), f"{time.time():.6f}", 60)
        if not probe:
            raise RuntimeError("the polled tokens do not exist: the poll figures would be meaningless")
        _redis().delete(*keys)
        return [enter, poll, single]

    def _bench_http(self, options, run_id: str) -> list[Result]:
        from django.contrib.auth.hashers import make_password
        from rest_framework.authtoken.models import Token

        from accounts.authentication import api_key_cache_key, api_key_cache_value, api_key_expires_at, api_key_new
        from accounts.models import User
        from accounts.services import organization_get_or_create
        from concerts.models import Concert, Show, Venue

        old_name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"test_stagegate_bench_{run_id}"
        self.stdout.write("http: creating the bench database ...")
        bench_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        server = None
        try:
            seconds, clients = options["seconds"], options["clients"]
            n_enter = max(options["entering_fans"], clients)
            unusable = make_password(None)
            users = User.objects.bulk_create(
                [User(phone=f"bench-{i}", name="bench", password=unusable) for i in range(clients + n_enter)],
                batch_size=5000,
            )
            tokens = Token.objects.bulk_create(
                [Token(user=u, key=api_key_new(user_id=u.pk)) for u in users], batch_size=5000
            )
            keys = [t.key for t in tokens]
            # As if every fan had just logged in: log-in issues a key and caches its user and expiry
            # (accounts.services.user_api_key_issue), so the measured calls need no SQL.
            with redis.Redis.from_url(settings.REDIS_URL).pipeline(transaction=False) as pipe:
                for t in tokens:
                    value = api_key_cache_value(t.user_id, api_key_expires_at(t.created))
                    pipe.set(api_key_cache_key(t.key), value, ex=settings.QUEUE_AUTH_CACHE_SECONDS)
                pipe.execute()
            organization = organization_get_or_create(name=f"bench {run_id}")
            venue = Venue.objects.create(organization=organization, name=f"bench {run_id}")
            concert = Concert.objects.create(
                title="bench",
                artist="bench",
                organization=organization,
                venue=venue,
                queue_max_waiting=10**9,
                queue_active_size=20,
            )
            now = clock.now()
            Show.objects.create(
                concert=concert,
                venue=venue,
                starts_at=now + timedelta(days=1),
                booking_opens_at=now - timedelta(hours=1),
                booking_closes_at=now + timedelta(days=1),
            )
            concert_id = concert.pk
            server, port = self._start_gunicorn(options, bench_db, run_id)

            enter_path = f"/api/v1/concerts/{concert_id}/queue-tokens"
            self.stdout.write("http: warm-up (the polling fans enter) ...")
            poll_cycles = []
            for key in keys[:clients]:
                token = self._http_enter(port, enter_path, key)
                poll_cycles.append(
                    [
                        _request(
                            "GET",
                            "/api/v1/queue-tokens/current",
                            {"Authorization": f"Token {key}", "X-Queue-Token": token},
                        )
                    ]
                )
            health = [[_request("GET", "/healthz")] for _ in range(clients)]
            per_client = n_enter // clients
            enter_cycles = [
                [
                    _request("POST", enter_path, {"Authorization": f"Token {key}"})
                    for key in keys[clients + c * per_client : clients + (c + 1) * per_client]
                ]
                for c in range(clients)
            ]
            procs = options["client_procs"]
            if options["verbosity"] >= 2:  # sequential latency, one connection: no load at all
                for name, cycles in (("healthz", health), ("poll", poll_cycles), ("enter", enter_cycles)):
                    r = _run_http(name, port, cycles[:1], 1, 1.0)
                    self.stdout.write(f"  sequential {name}: p50 {r.percentile(50):.2f} ms, errors {r.errors}")
            _run_http("warm-up", port, poll_cycles, procs, 1.0)  # fills the API-key cache
            _run_http("warm-up", port, health, procs, 1.0)
            # Interleaved rounds, so a change of the machine's load hits every line alike.
            plan = (("healthz baseline", health), ("poll", poll_cycles), ("enter", enter_cycles))
            totals: dict[str, Result] = {}
            rounds = options["rounds"]
            for round_ in range(rounds):
                for name, cycles in plan:
                    self.stdout.write(f"http: {name} (round {round_ + 1}/{rounds}) ...")
                    cpu_before = _process_tree_cpu(server.pid)
                    part = _run_http(name, port, cycles, procs, seconds / rounds)
                    part.server_cpu = _process_tree_cpu(server.pid) - cpu_before
                    total = totals.setdefault(name, Result(part.name, 0, 0.0, []))
                    total.requests += part.requests
                    total.seconds += part.seconds
                    total.latencies += part.latencies
                    total.errors += part.errors
                    total.server_cpu += part.server_cpu
            results = list(totals.values())
            return results
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            connection.creation.destroy_test_db(old_name, verbosity=0)

    def _start_gunicorn(self, options, bench_db: str, run_id: str) -> tuple[subprocess.Popen, int]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        db = connection.settings_dict
        auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{bench_db}",
            "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_ACCESS_LOG": "",
            "GUNICORN_MAX_REQUESTS": "0",
            # Entering still runs the rate limits (their cost is part of an enter) but from one
            # address and for this many fans they would refuse: rates nobody reaches.
            "THROTTLE_QUEUE_ENTER_IP": "1000000000/min",
            "THROTTLE_QUEUE_ENTER_USER": "1000000000/min",
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.base"),
        }
        if env["DJANGO_SETTINGS_MODULE"] == "config.settings.test":
            env["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
        if options["workers"]:
            env["GUNICORN_WORKERS"] = str(options["workers"])
        self.stdout.write(f"http: starting gunicorn on 127.0.0.1:{port} ...")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(settings.BASE_DIR / "config" / "gunicorn.py"),
                "config.wsgi:application",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(_request("GET", "/healthz"))
                    if _read_response(sock, port)[0] == 200:
                        time.sleep(1)  # let every worker boot
                        return server, port
            except OSError:
                time.sleep(0.2)
        os.killpg(server.pid, signal.SIGTERM)
        raise RuntimeError("gunicorn did not start")

    def _http_enter(self, port: int, path: str, key: str) -> str:
        import json

        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                _request("POST", path, {"Authorization": f"Token {key}"}).replace(
                    b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"
                )
            )
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if b" 20" not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"enter failed: {data[:300]!r}")
        return json.loads(body)["token"]

    def _report(self, results: list[Result]) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"{'measurement':<52}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'server CPU us/req':>19}"
        )
        for r in results:
            cpu = f"{r.cpu_per_request_us:>19,.0f}" if r.server_cpu else ""
            self.stdout.write(
                f"{r.name:<52}{r.rate:>12,.0f}{r.percentile(50):>10.2f}{r.percentile(99):>10.2f}{r.errors:>8}{cpu}"
            )
        by_name = {r.name.split(" (")[0]: r for r in results}
        poll = by_name.get("script poll")
        if poll:
            self.stdout.write(f"script poll: {poll.rate:,.0f} calls/s (target >= 50,000)")
        base = by_name.get("http healthz baseline")
        if base and base.rate:
            for name, target in (("http poll", 0.60), ("http enter", 0.50)):
                r = by_name[name]
                line = f"{name}: {r.rate / base.rate:.0%} of /healthz's requests/s (target >= {target:.0%})"
                if r.server_cpu and base.server_cpu:
                    # Independent of other load on the machine: the web workers' own CPU per request.
                    share = base.cpu_per_request_us / r.cpu_per_request_us
                    line += f"; by gunicorn CPU per request: {share:.0%}"
                self.stdout.write(line)


if __name__ == "__main__":
    sys.exit(main())

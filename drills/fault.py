"""Fault drills (issue 7 item 4): a fault injected in the middle of a burst of enters, holds and
payments; then the invariant commands. Run with scripts/drill <name> (python -m drills.fault).

    web-worker-kill      kill -9 a gunicorn worker of web instance 1, three times, mid-payments
    celery-worker-kill   kill -9 a whole Celery worker (and later a pool process of the other)
    redis-restart        stop the drill's own Redis (port 6390, nothing on disk) for a few seconds
    redis-failover       the waiting room on a Redis Cluster of the drill's own (3 masters, 3
                         replicas): kill -9 the master holding the concert's slot mid-rush; its
                         replica takes over; how many places were lost (asynchronous replication)
    pg-drop              pg_terminate_backend every connection to the drill's database, 3 times
    pooled               no fault: six web instances (1 worker x 4 threads each), the Celery
                         workers and beat reach PostgreSQL through PgBouncer (transaction pooling,
                         --pool-size server connections); pg_stat_activity is sampled throughout
                         (--no-pgbouncer: the same stack straight to PostgreSQL, for comparison)
    all                  each of the above, one after the other

Each drill: its own database (stagegate_drill, recreated), its own Redis prefix (sgdrill) on the
shared Redis (on its own redis-server at 127.0.0.1:6390 for redis-restart: the machine's Redis on
6379 is never touched), two gunicorn instances (2 workers x 4 threads), two Celery workers and
beat; 60 fans, 100 seats, 10 admitted at once. The report (printed, and written to
artifacts/drill-<name>-<timestamp>.txt and .json) gives the answers by code, those seen during the
fault, any 5xx with the server's traceback, the waiting room's figures and both checks.

Exit 1 if check_inventory or check_ledger fails, if the active set ever exceeded its size or
someone was admitted twice, if any answer was a 500, or (pooled) if the server connections to
the database ever exceeded the pool (a 503 SERVICE_UNAVAILABLE is the expected
answer while Redis is down; a request cut by a killed process or a dropped connection may end
without an answer or, for PostgreSQL, with one 500 per cut transaction: reported, not failed,
for pg-drop).
"""

import argparse
import dataclasses
import json
import re
import sys
import threading
import time
import uuid
from collections import Counter

from drills.burst import Burst, Fan, QueueSampler, call, http
from drills.seed import FAN_PASSWORD
from drills.stack import (
    ROOT,
    PgBouncer,
    PgConnectionSampler,
    RedisClusterServers,
    RedisServer,
    SetupFailed,
    Stack,
    StackConfig,
    db_recreate,
    db_terminate_connections,
    db_url,
    free_port,
    redis_prefix_clear,
)

DRILLS = ("web-worker-kill", "celery-worker-kill", "redis-restart", "redis-failover", "pg-drop", "pooled")
OWN_REDIS_PORT = 6390
# The pooled drill: web instances (1 gunicorn worker x 4 threads each), and the most server
# connections the whole stack may hold to PostgreSQL (issue 18: within 100).
POOLED_WEBS = 6
POOLED_CONNECTION_BUDGET = 100


def run_drill(
    name: str,
    *,
    fans: int,
    active_size: int,
    db: str,
    prefix: str,
    pool_size: int = 20,
    pgbouncer: bool = True,
    aof: bool = False,
) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    run_dir = ROOT / "var" / "drills" / f"{name}-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    own_redis = RedisServer(OWN_REDIS_PORT, run_dir) if name == "redis-restart" else None
    redis_url = own_redis.url if own_redis else "redis://127.0.0.1:6379/0"
    # redis-failover: the waiting room on a cluster of the drill's own; the rest on redis_url.
    cluster = RedisClusterServers(run_dir, aof=aof) if name == "redis-failover" else None
    if cluster:
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            raise
    config = StackConfig(
        database_url=db_url(db),
        redis_prefix=prefix,
        redis_url=redis_url,
        redis_cluster_url=cluster.url if cluster else "",
        extra_env={"DJANGO_STATIC_ROOT": str(run_dir / "static")},
    )
    # pooled: the processes go through PgBouncer; setup, seeding and the checks straight to PostgreSQL.
    direct_config = config
    bouncer = PgBouncer(free_port(), run_dir, pool_size=pool_size) if name == "pooled" and pgbouncer else None
    if bouncer:
        config = dataclasses.replace(config, database_url=bouncer.url(db), database_pooler="pgbouncer")
    say(name, f"database {db}, Redis {redis_url} prefix {prefix}, logs in {run_dir.relative_to(ROOT)}")
    db_recreate(db)
    connections = PgConnectionSampler(db, pgbouncer=bouncer, interval=0.02)
    fault_log: list[tuple[float, str]] = []
    probe: list[dict] = []
    live_at_restart: list[int] = []  # redis-restart: the holds live in PostgreSQL when Redis went away
    failover: dict = {}  # redis-failover: what the promoted replica kept of the room
    try:
        if own_redis:
            own_redis.start()
        if bouncer:
            bouncer.start()
        redis_prefix_clear(redis_url, prefix)
        with Stack(config, run_dir) as stack:
            try:
                world = Stack(direct_config, run_dir).prepare_and_seed(
                    "--fans", str(fans), "--active-size", str(active_size),
                    "--venue", "스파르타 콘서트장", "--poor-share", "0", out=run_dir / "fans.json", timeout=300,
                )  # fmt: skip
            except SetupFailed as exc:
                sys.stderr.write(str(exc))
                return 1
            if name == "pooled":
                webs = [stack.start_web(f"web{i}", workers=1, threads=4) for i in range(1, POOLED_WEBS + 1)]
            else:
                webs = [stack.start_web(f"web{i}", workers=2, threads=4) for i in (1, 2)]
            workers = [stack.start_worker(f"worker{i}", concurrency=1) for i in (1, 2)]
            stack.start_beat("beat1")
            stack.wait_all_ready(timeout=90)
            say(name, "stack up: " + ", ".join(web.url for web in webs) + "; the burst starts")

            sampler = QueueSampler(
                cluster.url if cluster else redis_url, prefix, world["concert_id"], cluster=cluster is not None
            )
            sampler.start()
            connections.start()
            burst = Burst(
                bases=[web.url for web in webs], concert_id=world["concert_id"], show_id=world["show_id"],
                fans=[Fan(user_id=f["user_id"], api_key=f["token"]) for f in world["fans"]], pin=world["pin"],
                max_seconds=120, poll_seconds=0.3,
            )  # fmt: skip
            runner = threading.Thread(target=burst.run, kwargs={"threads": 30}, daemon=True)
            runner.start()
            # The fault strikes once payments are flowing.
            for _ in range(600):
                if len(burst.result.paid) >= 5 or not runner.is_alive():
                    break
                time.sleep(0.1)
            probe_fan = Fan(user_id=world["fans"][-1]["user_id"], api_key=world["fans"][-1]["token"])
            inject(
                name, stack, webs, workers, own_redis, db, fault_log, probe, probe_fan, world["concert_id"],
                live_at_restart=live_at_restart, cluster=cluster, failover=failover, prefix=prefix,
            )  # fmt: skip
            runner.join(timeout=180)
            sampler.stop()
            connections.stop()
            alive = {proc.name: proc.alive() for proc in stack.procs}
            say(name, "burst over; stopping the stack")
        checks = {}
        for command in ("check_inventory", "check_ledger"):
            done = Stack(direct_config, run_dir).manage(command)
            checks[command] = {"ok": done.returncode == 0, "output": (done.stdout + done.stderr).strip()}
    finally:
        if bouncer:
            bouncer.stop()
        if own_redis:
            own_redis.kill()
        elif cluster:
            cluster.stop()
        else:
            redis_prefix_clear(redis_url, prefix)  # the shared Redis; the database stays for inspection

    result = burst.result
    window = (fault_log[0][0] - 0.5, fault_log[-1][0] + 5) if fault_log else (0, 0)
    during = Counter(
        f"{n} {s} {c}".strip() for t, n, s, c in result.timeline if window[0] <= t <= window[1]
    )  # fmt: skip
    five_hundreds = {key: n for key, n in result.answers.items() if key.split()[1] == "500"}
    tracebacks = server_tracebacks(run_dir)
    report = {
        "drill": name,
        "when_utc": stamp,
        "fans": fans,
        "active_size": active_size,
        "fault": [(round(t - fault_log[0][0], 2), what) for t, what in fault_log] if fault_log else [],
        "answers": dict(result.answers.most_common()),
        "answers_during_fault": dict(during.most_common()),
        "http_500": five_hundreds,
        "server_tracebacks": tracebacks,
        "outage_probe": probe,
        "live_holds_at_restart": _hold_outcomes(db, live_at_restart),
        "failover": {**failover, "aof_everysec": aof} if cluster else failover,
        # A payment refused by the queue guard: with a live hold it must not happen (the hold proves
        # the admission the restarted Redis forgot).
        "payments_refused_by_the_queue": result.answers.get("pay 403 QUEUE_NOT_ACTIVE", 0),
        "outcomes": dict(result.outcomes.most_common()),
        "paid": len(result.paid),
        "fans_with_more_than_one_token": sum(1 for tokens in result.tokens.values() if len(tokens) > 1),
        "queue": {
            "samples": sampler.samples,
            "sample_errors": sampler.errors,
            "max_active": sampler.max_active,
            "waiting_and_active_at_once": sorted(sampler.both_waiting_and_active),
            "tokens_admitted_twice": sorted(sampler.readmitted),
            "admissions_seen": len(sampler.admissions),
        },
        "processes_alive_at_end": alive,
        "postgres_connections": {
            "through_pgbouncer": bool(bouncer),
            "pool_size": pool_size if bouncer else None,
            "peak_server_connections": connections.peak,
            "peak_pgbouncer_clients": connections.peak_clients if bouncer else None,
            "peak_clients_waiting": connections.peak_waiting if bouncer else None,
            "samples": connections.samples,
        },
        "checks": checks,
    }
    failures = [f"{cmd} failed" for cmd, check in checks.items() if not check["ok"]]
    if sampler.max_active > active_size:
        failures.append(f"active set reached {sampler.max_active} > {active_size}")
    if sampler.both_waiting_and_active:
        failures.append("a token waiting and active at once")
    # A failover may lose an admission the dead master had not passed on to its replica: that fan
    # is back in line and admitted again (reported as failover.readmitted, not sold twice).
    if sampler.readmitted and name != "redis-failover":
        failures.append("a token admitted twice")
    if name == "redis-failover" and not failover.get("took_over_after_seconds"):
        failures.append("no replica took over the killed master's slot")
    probe_500 = [p["request"] for p in probe if p["status"] >= 500 and p["status"] != 503]
    if probe_500:
        failures.append(f"answered {probe_500} with a 5xx other than 503 while Redis was down")
    if five_hundreds:
        failures.append(f"HTTP 500 answers: {five_hundreds}")
    if report["payments_refused_by_the_queue"]:
        failures.append(f"{report['payments_refused_by_the_queue']} payments of a live hold refused by the queue")
    if bouncer and not 0 < connections.peak <= min(pool_size, POOLED_CONNECTION_BUDGET):
        failures.append(f"{connections.peak} server connections to {db} (pool {pool_size})")
    if bouncer and result.server_errors() + result.count("0"):
        failures.append("an answer was a 5xx other than 503, or no answer at all")
    report["failures"] = failures
    (ROOT / "artifacts").mkdir(exist_ok=True)
    base = ROOT / "artifacts" / f"drill-{name}-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    text = summary(report)
    base.with_suffix(".txt").write_text(text)
    print(text)
    return 1 if failures else 0


def inject(
    name: str,
    stack: Stack,
    webs: list,
    workers: list,
    own_redis: RedisServer | None,
    db: str,
    log: list,
    probe: list,
    probe_fan: Fan,
    concert_id: int,
    *,
    live_at_restart: list[int],
    cluster: RedisClusterServers | None = None,
    failover: dict,
    prefix: str,
) -> None:
    def note(what: str) -> None:
        log.append((time.time(), what))
        say(name, what)

    if name == "web-worker-kill":
        for _ in range(3):
            pid = stack.kill9_child(webs[0])
            note(f"kill -9 gunicorn worker {pid} of {webs[0].name}")
            time.sleep(1.5)
    elif name == "celery-worker-kill":
        stack.kill9(workers[0])
        note(f"kill -9 the whole Celery worker {workers[0].name} (pid {workers[0].pid} and its pool)")
        time.sleep(3)
        pid = stack.kill9_child(workers[1])
        note(f"kill -9 pool process {pid} of {workers[1].name} (its parent starts another)")
        time.sleep(3)
        replacement = stack.start_worker("worker3", concurrency=1)
        stack.wait_ready(replacement, timeout=60)
        note("started worker3 in place of worker1")
    elif name == "redis-restart":
        live_at_restart[:] = _live_holds(db)
        own_redis.kill()
        note(f"Redis on {own_redis.port} stopped (kill -9; nothing on disk)")
        time.sleep(1)
        probe[:] = outage_probe(webs[0].url, probe_fan, concert_id)
        note("probed every endpoint once while Redis is down")
        time.sleep(3)
        own_redis.start()
        note(f"Redis on {own_redis.port} started again, empty")
    elif name == "redis-failover":
        failover.update(_fail_over(cluster, prefix, concert_id, note))
    elif name == "pg-drop":
        for _ in range(3):
            ended = db_terminate_connections(db)
            note(f"pg_terminate_backend: {ended} connections to {db} ended")
            time.sleep(2)


def _room_snapshot(port: int, prefix: str, concert_id: int, *, replica: bool = False) -> dict:
    """The concert's line, active set and tokens on one node (one MULTI; on a replica, whose data
    only its master changes, READONLY and the reads in one pipeline)."""
    import redis

    tag = f"{prefix}:queue:{{c{concert_id}}}"
    pipe = redis.Redis(port=port, socket_timeout=2).pipeline(transaction=not replica)
    if replica:
        pipe.execute_command("READONLY")
    pipe.zrange(f"{tag}:waiting", 0, -1)
    pipe.zrange(f"{tag}:active", 0, -1)
    pipe.hkeys(f"{tag}:tokens")
    waiting, active, tokens = pipe.execute()[-3:]
    return {"waiting": [t.decode() for t in waiting], "active": [t.decode() for t in active],
            "tokens": {t.decode() for t in tokens}}  # fmt: skip


def _fail_over(cluster: RedisClusterServers, prefix: str, concert_id: int, note) -> dict:
    """kill -9 the master serving the concert's slot (its room read just before), read the room
    on its replica at once (nothing can change it until it is promoted: exactly what replication
    had passed on), wait until the replica serves the slot, and compare."""
    from redis.cluster import key_slot

    slot = key_slot(f"{prefix}:queue:{{c{concert_id}}}:meta".encode())
    others = list(cluster.nodes)
    master, *replicas = cluster.nodes_of_slot(slot, ask=others[0])
    before = _room_snapshot(master, prefix, concert_id)
    pid = cluster.kill9(master)
    killed_at = time.monotonic()
    kept = {port: _room_snapshot(port, prefix, concert_id, replica=True) for port in replicas}
    note(
        f"kill -9 the master 127.0.0.1:{master} (pid {pid}) of slot {slot}: it held {len(before['waiting'])} "
        f"waiting, {len(before['active'])} active"
    )
    others.remove(master)
    new_master = None
    while time.monotonic() - killed_at < 60:
        try:
            found = cluster.master_of_slot(slot, ask=others[0])
            if found not in (None, master) and cluster.state_ok(found):
                new_master = found
                break
        except Exception:  # noqa: BLE001 - a node busy with the election: ask again
            pass
        time.sleep(0.1)
    if new_master is None:
        note("no replica took over within 60 s")
        return {"killed_master": master, "slot": slot}
    took = round(time.monotonic() - killed_at, 2)
    note(f"replica 127.0.0.1:{new_master} serves slot {slot} after {took} s")
    after = kept.get(new_master) or _room_snapshot(new_master, prefix, concert_id)
    lost = before["tokens"] - after["tokens"]
    # The fans still waiting on both sides stand in the same order.
    was_waiting, is_waiting = set(before["waiting"]), set(after["waiting"])
    order_kept = [t for t in before["waiting"] if t in is_waiting] == [t for t in after["waiting"] if t in was_waiting]
    return {
        "killed_master": master,
        "slot": slot,
        "took_over_after_seconds": took,
        "tokens_before": len(before["tokens"]),
        "tokens_lost": len(lost),
        "admissions_lost": len(set(before["active"]) - set(after["active"])),
        "waiting_order_kept": order_kept,
    }


def _live_holds(db: str) -> list[int]:
    """The reservations held and not yet run out, read from PostgreSQL."""
    import psycopg

    with psycopg.connect(db_url(db), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id FROM reservations_reservation WHERE status = 'HELD' AND hold_expires_at > now()"
        ).fetchall()
    return [row[0] for row in rows]


def _hold_outcomes(db: str, ids: list[int]) -> dict[str, int]:
    """How the holds live at the restart ended: CONFIRMED (paid through the restart), REFUNDED,
    or EXPIRED / RELEASED."""
    if not ids:
        return {}
    import psycopg

    with psycopg.connect(db_url(db), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM reservations_reservation WHERE id = ANY(%s) GROUP BY status", [ids]
        ).fetchall()
    return dict(rows)


def outage_probe(base: str, fan: Fan, concert_id: int) -> list[dict]:
    """Every kind of request once, while Redis is down: which answer 503 (the queue's), which keep
    working (no Redis needed) and, above all, which answer 500."""
    key = {"Idempotency-Key": uuid.uuid4().hex}
    signup = {"name": "probe", "phone": f"010-9999-{int(time.time()) % 10000:04d}", "password": "a-long-pass-9"}
    api = [
        ("GET", "/concerts", None, {}),
        ("POST", f"/concerts/{concert_id}/queue-tokens", None, {}),
        ("GET", "/queue-tokens/current", None, {"X-Queue-Token": f"{concert_id}.x"}),
        ("GET", f"/concerts/{concert_id}/shows", None, {"X-Queue-Token": f"{concert_id}.x"}),
        ("GET", "/wallet", None, {}),
        ("GET", "/wallet/transactions", None, {}),
        ("POST", "/wallet/charges", {"amount": 1000}, key),
        ("GET", "/reservations", None, {}),
        ("POST", "/auth/token", {"phone": "010-5000-0000", "password": FAN_PASSWORD}, {}),
        ("POST", "/users", signup | {"pin": "402913"}, {}),
    ]
    out = []
    for method, path, body, headers in api:
        answer = call(base, method, path, api_key=fan.api_key, body=body, headers=headers)
        out.append({"request": f"{method} /api/v1{path}", "status": answer.status, "code": answer.code})
    for path in ("/healthz", "/readyz", "/", "/api/schema/"):
        answer = http("GET", base + path)
        out.append({"request": f"GET {path}", "status": answer.status, "code": answer.code})
    return out


def server_tracebacks(run_dir) -> list[str]:
    """Django's 'Internal Server Error' records from the web logs, shortened to the request, the
    project's own frames and the exception (JSON log lines and plain ones alike)."""
    found = []
    for log in sorted(run_dir.glob("web*.log")):
        lines = log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if "Internal Server Error" not in line and "Error handling request" not in line:
                continue
            if line.lstrip().startswith("{"):
                try:
                    record = json.loads(line)
                except ValueError:
                    record = {"message": line}
                text = f"{record.get('message', '')}\n{record.get('exc_info', '')}"
            else:
                block = [line]
                for follow in lines[i + 1 : i + 80]:
                    if re.match(r"^\d{4}-\d\d-\d\d |^\[\d{4}-", follow):
                        break
                    block.append(follow)
                text = "\n".join(block)
            found.append(f"{log.name}: " + _shorten(text))
    return found[:20]


def _shorten(text: str) -> str:
    """The first line, the frames in the project's own code (not .venv, not the stdlib) and the
    final exception line."""
    lines = text.splitlines()
    own = []
    for i, line in enumerate(lines):
        if line.strip().startswith("File ") and str(ROOT) in line and "/.venv/" not in line:
            own.append(line.strip() + " :: " + (lines[i + 1].strip() if i + 1 < len(lines) else ""))
    last = next((line for line in reversed(lines) if line.strip()), "")
    return "\n  ".join([lines[0] if lines else "", *own, last])


def summary(r: dict) -> str:
    out = [
        f"Drill {r['drill']} ({r['when_utc']} UTC): {r['fans']} fans, active size {r['active_size']}",
        "fault: " + "; ".join(f"+{t}s {what}" for t, what in r["fault"]),
        f"answers: {r['answers']}",
        f"answers during the fault (from 0.5 s before to 5 s after): {r['answers_during_fault']}",
        f"HTTP 500: {r['http_500'] or 'none'}",
        *(
            [
                "probe while Redis was down: "
                + ", ".join(f"{p['request']} -> {p['status']} {p['code']}".strip() for p in r["outage_probe"])
            ]
            if r["outage_probe"]
            else []
        ),
        f"outcomes: {r['outcomes']} (paid {r['paid']}; fans that had to enter again: "
        f"{r['fans_with_more_than_one_token']})",
        *(
            [
                f"holds live at the restart, by how they ended: {r['live_holds_at_restart']}; payments "
                f"refused by the queue: {r['payments_refused_by_the_queue']}"
            ]
            if r["drill"] == "redis-restart"
            else []
        ),
        *([f"failover: {r['failover']}"] if r["failover"] else []),
        f"queue: {r['queue']}",
        f"processes alive at the end: {r['processes_alive_at_end']}",
        f"PostgreSQL connections: {r['postgres_connections']}",
        *(f"{cmd}: {'OK' if c['ok'] else 'FAILED'}: {c['output'].splitlines()[-1]}" for cmd, c in r["checks"].items()),
        *(f"server traceback:\n{tb}" for tb in r["server_tracebacks"][:3]),
        "RESULT: " + ("PASS" if not r["failures"] else "FAIL: " + "; ".join(r["failures"])),
    ]
    return "\n".join(out) + "\n"


def say(name: str, text: str) -> None:
    print(f"[drill {name}] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=[*DRILLS, "all"])
    parser.add_argument("--fans", type=int, default=60)
    parser.add_argument("--active-size", type=int, default=10)
    parser.add_argument("--db", default="stagegate_drill")
    parser.add_argument("--prefix", default="sgdrill")
    parser.add_argument("--pool-size", type=int, default=20, help="pooled: PgBouncer's server connections")
    parser.add_argument("--no-pgbouncer", action="store_true", help="pooled: straight to PostgreSQL instead")
    parser.add_argument("--aof", action="store_true", help="redis-failover: nodes with AOF, fsync every second")
    args = parser.parse_args(argv)
    names = DRILLS if args.name == "all" else (args.name,)
    status = 0
    for name in names:
        status |= run_drill(
            name, fans=args.fans, active_size=args.active_size, db=args.db, prefix=args.prefix,
            pool_size=args.pool_size, pgbouncer=not args.no_pgbouncer, aof=args.aof,
        )  # fmt: skip
    return status


if __name__ == "__main__":
    sys.exit(main())

"""The load test: an on-sale rush against the stack as deployed on this machine.

    scripts/loadtest [--fans 5000] [--active-size 100] ...      (python -m loadtest.run --help)

1. Recreates its own database (`stagegate_load`), clears its own Redis prefix (`sgload`),
   migrates, writes the beat schedule, seeds the venues, a concert with one 1,000-seat show at
   예술의 전당 콘서트장 (booking open now) and N fans with API tokens and charged wallets.
2. Starts the stack as scripts/run deploys it (drills.stack): HAProxy in front of the waiting
   room's and booking's gunicorn pools and two uvicorn loops (the event streams, the booking
   reads), each on its unix socket, a Celery worker and Celery beat, all on that database and prefix.
3. Replays the rush with locust (loadtest.rush): N fans enter within --ramp-seconds, poll, hold,
   pay; the run ends --drain-seconds after sell-out, or at --max-seconds.
4. Stops the stack, runs check_inventory and check_ledger on the load database, prints the
   figures and writes them to artifacts/loadtest-<timestamp>.json and .txt.

Exit status: 0 only if both checks pass (nothing oversold, ledger balanced); 1 otherwise.
"""

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import time

import psycopg

from drills.seed import POOR_BALANCE
from drills.stack import (
    ROOT,
    SetupFailed,
    Stack,
    StackConfig,
    db_connection_count,
    db_recreate,
    db_url,
    process_priority_set,
    redis_prefix_clear,
)
from loadtest import figures, server
from loadtest.database_priority import DatabasePriority


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fans", type=int, default=5000, help="fans in the rush (default 5000)")
    parser.add_argument("--active-size", type=int, default=100, help="concert's admitted users at once")
    parser.add_argument("--hold-minutes", type=int, default=1, help="concert's hold time before payment")
    parser.add_argument("--ramp-seconds", type=float, default=5, help="every fan has entered within this")
    parser.add_argument("--max-seconds", type=float, default=900, help="hard bound of the rush")
    parser.add_argument("--drain-seconds", type=float, default=10, help="run on this long after sell-out")
    parser.add_argument("--queue-workers", type=int, default=2, help="gunicorn workers of the waiting-room pool")
    parser.add_argument("--booking-workers", type=int, default=2, help="gunicorn workers of the booking pool")
    parser.add_argument("--web-threads", type=int, default=4, help="gunicorn threads per worker")
    # Twice the waiting-room pool's, as scripts/run and compose run it (docs/performance-log.md, 2026-12-04).
    parser.add_argument("--booking-threads", type=int, default=8, help="threads per booking worker")
    parser.add_argument("--queue-nice", type=int, default=10, help="CPU niceness of the enter/poll pool")
    parser.add_argument("--events-nice", type=int, default=10, help="CPU niceness of the event-stream pool")
    # The admitted fans' path (holds, payments, seat maps) is raised where the kernel allows it (root or
    # CAP_SYS_NICE; else it runs at 0 and the report's header says so): see docs/performance-log.md,
    # each call waits for a core at every wake-up after a round trip, and at nice 0 the pool's whole
    # session weighs as much as each PostgreSQL backend, which starts its own.
    parser.add_argument("--booking-nice", type=int, default=-5, help="CPU niceness of the booking pool")
    parser.add_argument("--reads-nice", type=int, default=-5, help="CPU niceness of the booking reads' pool")
    parser.add_argument("--worker-nice", type=int, default=10, help="CPU niceness of the Celery worker")
    parser.add_argument(
        "--database-nice",
        type=int,
        default=-5,
        help="CPU niceness of PostgreSQL's processes during the rush, put back after (raised where allowed; "
        "see loadtest.database_priority)",
    )
    parser.add_argument(
        "--load-generator-nice",
        type=int,
        default=-5,
        help="CPU niceness of locust (raised where allowed: it stands for the fans' own devices)",
    )
    parser.add_argument(
        "--load-generator-workers",
        type=int,
        default=2,
        help="locust worker processes under one master (locust's distributed mode; 0: one process)",
    )
    parser.add_argument(
        "--polling", action="store_true", help="waiting fans poll instead of following the event stream"
    )
    parser.add_argument(
        "--web-share",
        type=float,
        default=0.0,
        help="share of the fans who wait and book through the fan pages (logged in on the website: the concert "
        "page and its button's entry, the event stream, then the seat map page, its form and the payment page)",
    )
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--db", default="stagegate_load", help="database (dropped and recreated)")
    parser.add_argument("--prefix", default="sgload", help="Redis key prefix (cleared)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    if db_connection_count(args.db):
        # Another load test (or what is left of one) uses it: recreating it, and clearing the
        # Redis prefix, would wreck that run's figures.
        say(f"database {args.db} is in use: wait for the other load test, or stop what is left of it")
        return 1

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    run_dir = ROOT / "var" / "loadtest" / stamp
    artifacts = ROOT / "artifacts"
    run_dir.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(exist_ok=True)

    config = StackConfig(
        database_url=db_url(args.db),
        redis_prefix=args.prefix,
        redis_url=args.redis_url,
        extra_env={
            "DJANGO_STATIC_ROOT": str(run_dir / "static"),
            # Every simulated fan comes from 127.0.0.1: the per-IP limit of queue entry would
            # count them all as one client. The per-user limit stays as configured.
            "THROTTLE_QUEUE_ENTER_IP": os.environ.get("THROTTLE_QUEUE_ENTER_IP", "1000000/min"),
            # /metrics answers only a scrape with this bearer token (loadtest.server reads it).
            "METRICS_TOKEN": secrets.token_urlsafe(32),
        },
    )
    say(f"database {args.db} (recreated), Redis prefix {args.prefix}, logs in {run_dir.relative_to(ROOT)}")
    db_recreate(args.db)
    redis_prefix_clear(args.redis_url, args.prefix)

    with Stack(config, run_dir) as stack:
        say(f"seeding a 1,000-seat show and {args.fans} fans")
        fans_file = run_dir / "fans.json"
        try:
            seed_info = stack.prepare_and_seed(
                "--fans", str(args.fans), "--active-size", str(args.active_size),
                "--hold-minutes", str(args.hold_minutes), "--web-share", str(args.web_share), out=fans_file,
            )  # fmt: skip
        except SetupFailed as exc:
            sys.stderr.write(str(exc))
            return 1
        say(f"seeded concert {seed_info['concert_id']} show {seed_info['show_id']} ({seed_info['seats']} seats)")

        say("starting HAProxy, the waiting-room and booking pools, a Celery worker and beat")
        queue_pool = stack.start_pool(
            "web-queue", workers=args.queue_workers, threads=args.web_threads, nice=args.queue_nice
        )
        booking_pool = stack.start_pool(
            "web-booking", workers=args.booking_workers, threads=args.booking_threads, nice=args.booking_nice
        )
        events_pool = stack.start_events("web-events", nice=args.events_nice)
        reads_pool = stack.start_booking_reads("web-reads", nice=args.reads_nice)
        proxy = stack.start_proxy("proxy", queue=queue_pool, booking=booking_pool, events=events_pool, reads=reads_pool)
        stack.start_worker("worker1", concurrency=args.worker_concurrency, nice=args.worker_nice)
        stack.start_beat("beat1")
        stack.wait_all_ready(timeout=90)
        # What the kernel granted (a raise needs privilege), as for locust below.
        booking_nice, reads_nice = (os.getpriority(os.PRIO_PROCESS, pool.pid) for pool in (booking_pool, reads_pool))
        say(f"stack up: {proxy.url} (HAProxy) -> {queue_pool.address} (waiting room), {booking_pool.address} (booking)")

        concert_tag = f"{{c{seed_info['concert_id']}}}"
        rush_config = {
            "hosts": [proxy.url],
            "streams": not args.polling,
            "fans_file": str(fans_file),
            "fans": args.fans,
            "active_size": args.active_size,
            "ramp_seconds": args.ramp_seconds,
            "max_seconds": args.max_seconds,
            "drain_seconds": args.drain_seconds,
            "hold_seconds": args.hold_minutes * 60,
            "grace_seconds": 60,
            "redis_url": args.redis_url,
            "redis_keys": [f"{args.prefix}:queue:{concert_tag}:{name}" for name in ("waiting", "active", "admits")],
            "database_url": config.database_url,
            "fan_counter_key": f"{args.prefix}:loadtest:next-fan",
            "load_generator_workers": args.load_generator_workers,
        }
        (run_dir / "rush.json").write_text(json.dumps(rush_config, indent=2))
        result_file = run_dir / "rush-result.json"
        say(f"the rush: {args.fans} fans within {args.ramp_seconds:g}s (bounded by {args.max_seconds:g}s)")
        # Server-side figures: /metrics and CPU read just before and just after the rush.
        postmaster = server.postmaster_pid(config.database_url)
        before = server.snapshot(stack, postmaster=postmaster, redis_url=args.redis_url)
        rush = subprocess.Popen(
            [sys.executable, "-m", "loadtest.rush", "--config", str(run_dir / "rush.json"), "--out", str(result_file)],
            cwd=ROOT, env={**config.env(), "DJANGO_SETTINGS_MODULE": ""},
            preexec_fn=lambda: _set_own_priority(args.load_generator_nice),
        )  # fmt: skip
        load_generator_nice = os.getpriority(os.PRIO_PROCESS, rush.pid)
        timeline = server.CpuTimeline(stack, postmaster=postmaster, redis_url=args.redis_url, load_generator=rush.pid)
        timeline.sample()
        timeline.start()
        try:
            with DatabasePriority(postmaster, args.database_nice) as database:
                rush.wait(timeout=args.max_seconds + 300)
        except subprocess.TimeoutExpired:
            rush.kill()
            raise
        finally:
            timeline.stopped.set()
        database_nice = args.database_nice if database.granted else 0
        after = server.snapshot(stack, postmaster=postmaster, redis_url=args.redis_url)
        procs_alive = {proc.name: proc.alive() for proc in stack.procs}
        say("stopping the stack")

    if rush.returncode or not result_file.exists():
        say(f"the rush failed (exit {rush.returncode})")
        return 1
    result = json.loads(result_file.read_text())
    poor_share = sum(fan["balance"] == POOR_BALANCE for fan in seed_info["fans"]) / max(1, len(seed_info["fans"]))
    rounds_seen = abandoned_hold_rounds_seen(db_url(args.db), show_id=seed_info["show_id"])
    server_side = server_figures(before, after, result, args, poor_share, rounds_seen)
    started, entered = result["rush_started_at"], result["rush_started_at"] + result["latency_by_phase"]["entered_by_s"]
    server_side["cores_by_phase"] = {
        "while_entering": timeline.cores_between(started, entered),
        "after": timeline.cores_between(entered, started + result["duration_s"]),
    }
    # Who the waiting crowd is in the timeline, and its parts of the proxy and Redis.
    crowd = {
        "waiting_processes": (queue_pool.name, events_pool.name),
        "loop_process": events_pool.name,
        "client_calls": client_calls(result),
        "status_events": result["streams"]["status_events"],
    }
    server_side["waiting_share_by_phase"] = {
        phase: figures.waiting_share_of_cores(cores, **crowd) for phase, cores in server_side["cores_by_phase"].items()
    }
    # The crowd's own cost after the entries, per fan then waiting (the room's size as sampled).
    after_waiting = figures.waiting_cores(server_side["cores_by_phase"]["after"], **crowd)
    samples_t0 = result["samples_started_at"]
    server_side["waiting_fan_cost_after"] = figures.waiting_fan_cost(
        after_waiting[0] if after_waiting else None,
        [s["waiting"] for s in result["samples"] if s.get("waiting") is not None and samples_t0 + s["t"] >= entered],
    )

    checks = {}
    for command in ("check_inventory", "check_ledger"):
        done = Stack(config, run_dir).manage(command)
        checks[command] = {"ok": done.returncode == 0, "output": (done.stdout + done.stderr).strip()}

    redis_prefix_clear(args.redis_url, args.prefix)  # the database stays for inspection; Redis is shared
    report = {
        "when_utc": stamp,
        "machine": {"cores": os.cpu_count(), "memory_gib": _mem_gib(), "python": platform.python_version()},
        "parameters": vars(args)
        | {
            "gunicorn": f"HAProxy -> waiting-room pool {args.queue_workers} x {args.web_threads} threads (nice "
            f"{args.queue_nice}) + booking pool {args.booking_workers} x {args.booking_threads} "
            f"threads (gthread, nice {booking_nice}); event streams nice {args.events_nice}, booking reads "
            f"(uvicorn) nice {reads_nice}, Celery worker nice {args.worker_nice}; "
            f"locust nice {load_generator_nice}, PostgreSQL nice {database_nice}"
        },
        "processes_alive_at_end": procs_alive,
        **result,
        **server_side,
        "checks": checks,
    }
    json_path = artifacts / f"loadtest-{stamp}.json"
    txt_path = artifacts / f"loadtest-{stamp}.txt"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    text = summary(report)
    txt_path.write_text(text)
    print(text)
    say(f"written {json_path.relative_to(ROOT)} and {txt_path.relative_to(ROOT)}")
    ok = all(check["ok"] for check in checks.values())
    if not ok:
        say("FAILED: an invariant check did not pass")
    return 0 if ok else 1


def _set_own_priority(nice: int) -> None:
    """Run at `nice`, the session's scheduling group too (see drills.stack.at_priority).
    On one machine the load generator stands for the fans' own devices: raised, it answers its
    fans when their replies come instead of queueing behind the server it measures (its loop was
    up to 250 ms late at nice 0, and that lateness went into every client figure). It takes the
    same CPU either way. Raising needs privilege (root, CAP_SYS_NICE); without it, it stays at 0
    and the report's header says so."""
    process_priority_set(os.getpid(), nice)


def client_calls(result: dict) -> dict[str, int]:
    """The client's requests per call over the rush ("events": a stream's opening)."""
    return {name: figure.get("n", 0) for name, figure in result["latency"].items()}


# The abandoned holds the last seat paid waited for: its holds that ended unpaid at their time.
_SQL_ABANDONED_HOLDS_OF_THE_LAST_SEAT_PAID = """
    SELECT count(*) FILTER (WHERE reservation.status = 'EXPIRED')
    FROM reservations_reservationseat ticket
    JOIN reservations_reservation reservation ON reservation.id = ticket.reservation_id
    WHERE ticket.show_seat_id = (
        SELECT last_ticket.show_seat_id FROM reservations_reservationseat last_ticket
        JOIN reservations_reservation sale ON sale.id = last_ticket.reservation_id
        WHERE sale.show_id = %s AND sale.status = 'CONFIRMED'
        ORDER BY sale.confirmed_at DESC LIMIT 1)"""


def abandoned_hold_rounds_seen(database_url: str, *, show_id: int) -> int:
    """How many rounds of abandoned holds this run's sale had (figures.sell_out_versus_floor)."""
    with psycopg.connect(database_url) as conn:
        (rounds,) = conn.execute(_SQL_ABANDONED_HOLDS_OF_THE_LAST_SEAT_PAID, [show_id]).fetchone()
    return rounds


def server_figures(
    before: server.Snapshot,
    after: server.Snapshot,
    result: dict,
    args: argparse.Namespace,
    poor_share: float,
    rounds_seen: int | None = None,
) -> dict:
    """The report's server-side sections (issue #12), from the snapshots around the rush."""
    metrics = server.metrics_delta(before, after)  # per gunicorn instance, and uvicorn
    cpu = server.cpu_delta(before.cpu_s, after.cpu_s)
    proc_cpu = server.cpu_delta(before.proc_cpu_s, after.proc_cpu_s)
    floor = figures.sell_out_floor(
        seats_total=result["seats_total"],
        active_size=args.active_size,
        hold_seconds=args.hold_minutes * 60,
        poor_share=poor_share,
    )
    return {
        "server_latency": figures.server_latency(figures.sum_samples(metrics.values())),
        "server_cpu": figures.cpu_breakdown(
            window_s=after.at - before.at,
            cores=os.cpu_count() or 1,
            machine_busy_s=after.machine_busy_s - before.machine_busy_s,
            # uvicorn's CPU is its own rows (the groups "events" and "reads"), not Django request code.
            web=[
                (proc_cpu[name] or 0.0, figures.request_cpu(metrics[name]))
                for name in after.web_names
                if name in metrics
            ],
            groups={kind: seconds for kind, seconds in cpu.items() if kind != "web"},
            locust_s=after.children_cpu_s - before.children_cpu_s,  # the rush: run.py's only child that ended
            client_calls=client_calls(result),
            status_events=result["streams"]["status_events"],
        ),
        "sell_out": figures.sell_out_versus_floor(
            result.get("time_to_every_seat_taken_s"), result["time_to_sell_out_s"], floor, rounds_seen=rounds_seen
        ),
        # Each process of the stack (with its children), e.g. each gunicorn pool on its own.
        "stack_process_cpu_s": {
            name: round(seconds, 1) if seconds is not None else None for name, seconds in proc_cpu.items()
        },
        "metrics_scrape_errors": before.scrape_errors + after.scrape_errors,
    }


# Rows of the server CPU table (figures.cpu_breakdown's names; a process kind not named here
# prints as itself).
CPU_ROWS = {
    "django_request_code": "Django request code (middleware)",
    "gunicorn_outside_django": "gunicorn outside Django",
    "proxy": "HAProxy (reverse proxy)",
    "events": "uvicorn: waiting fans' event streams, entries (API key, page ticket) and leaves",
    "reads": "uvicorn: admitted fans' shows and seat maps",
    "postgresql": "PostgreSQL (whole server)",
    "redis": "Redis (whole server)",
    "worker": "Celery worker",
    "beat": "Celery beat",
}


def _num(value: object, spec: str = "") -> str:
    """The value formatted, or "-" (right-aligned to the spec's width, if it has one)."""
    if value is None:
        width = "".join(c for c in spec if c.isdigit() or c == ".").split(".")[0]
        return "-".rjust(int(width)) if width else "-"
    return format(value, spec)


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def summary(r: dict) -> str:
    lat, server_lat = r["latency"], r.get("server_latency", {})

    def served(v: dict, key: str) -> str:
        # A percentile past the histogram's last finite bucket is only known to be above it.
        above = v.get("over_last_bucket") and v.get(key) == v.get("last_bucket_ms")
        return f">{v[key]}".rjust(9) if above else _num(v.get(key), ">9")

    def latency_line(name: str) -> str:
        c, v = lat.get(name, {"n": 0}), server_lat.get(name, {"n": 0})
        client = " ".join(_num(c.get(k), ">9") for k in ("p50_ms", "p95_ms", "p99_ms"))
        server_side = " ".join(served(v, k) for k in ("p50_ms", "p95_ms", "p99_ms"))
        return f"  {name:<7} {c['n']:>8} {client}  | {v['n']:>8} {server_side}"

    t, polls, streams = r["tokens_issued"], r["polls"], r.get("streams", {})
    web_share = r["parameters"].get("web_share")
    f, s = r["freed_place_to_next_admission"], r["admission_to_fan_sees_active"]
    out = [
        f"Stagegate load test {r['when_utc']} UTC: {r['fans']} fans, machine {r['machine']['cores']} cores "
        f"{r['machine']['memory_gib']} GiB, {r['parameters']['gunicorn']}, active size {r['active_size']}"
        + (f"; {web_share:.0%} of the fans wait through the fan pages" if web_share else ""),
        f"duration {r['duration_s']} s ({r['stop_reason']}); every seat held or sold "
        f"{r.get('time_to_every_seat_taken_s')} s, every seat paid {r['time_to_sell_out_s']} s after the first "
        f"enter; final seats {r['final_seats']}",
        *_sell_out_lines(r.get("sell_out")),
        f"tokens issued: {t.get('n')} in {t.get('span_s')} s = {t.get('mean_per_s')}/s (peak {t.get('peak_per_s')}/s)",
        f"polls: {polls.get('n')} = {polls.get('mean_per_s')}/s (peak {polls.get('peak_per_s')}/s); "
        f"event streams opened {streams.get('opened')}, status events {streams.get('status_events')}, "
        f"heartbeats {streams.get('heartbeats')}",
        "latency, ms: client = as the fan saw it (the proxy, gunicorn's queue and locust's own delays included); "
        "server = the view's time from /metrics (every gunicorn instance)",
        f"  {'call':<7} {'client n':>8} {'p50':>9} {'p95':>9} {'p99':>9}  | {'server n':>8} {'p50':>9} {'p95':>9} "
        f"{'p99':>9}",
        *(
            latency_line(name)
            for name in figures.ENDPOINTS
            if name not in (*figures.PAGE_CALLS, *figures.BOOKING_PAGE_CALLS) or lat.get(name)
        ),
        *_split_lines(
            r.get("latency_split", {}), r.get("load_generator_loop_lag", {}), r.get("load_generator_gc_pauses")
        ),
        *_phase_lines(r.get("latency_by_phase")),
        *_cores_lines(r.get("cores_by_phase"), r.get("waiting_share_by_phase")),
        *_waiting_fan_cost_lines(r.get("waiting_fan_cost_after")),
        f"freed place (answer to the payer) -> next admission: n={f.get('n')} p50 {f.get('p50_ms')} ms "
        f"p95 {f.get('p95_ms')} ms p99 {f.get('p99_ms')} ms",
        f"admission -> fan sees ACTIVE (poll): n={s.get('n')} p50 {s.get('p50_ms')} ms p95 {s.get('p95_ms')} ms",
        f"active set max seen {r['max_active_seen']} (size {r['active_size']}); waiting max {r['max_waiting_seen']}; "
        f"admissions {r['admissions_seen']}",
        *_cpu_lines(r.get("server_cpu"), r.get("stack_process_cpu_s", {})),
        *_load_generator_lines(r.get("load_generator")),
        *(f"metrics scrape failed: {error}" for error in r.get("metrics_scrape_errors", [])),
        f"outcomes: {r['outcomes']}",
        f"errors by code: {r['errors_by_code']}",
        f"5xx: {r['server_errors_5xx']}, connection errors: {r['connection_errors']}",
        *(
            f"{name}: {'OK' if c['ok'] else 'FAILED'}: {c['output'].splitlines()[-1] if c['output'] else ''}"
            for name, c in r["checks"].items()
        ),
    ]
    return "\n".join(out) + "\n"


def _phase_lines(phases: dict | None) -> list[str]:
    """The admitted fans' client latency, and the streams' first event, while the crowd is still
    entering, and after."""
    if not phases:
        return []
    out = [
        f"client latency while fans were still entering (the first {phases['entered_by_s']} s) and after, ms",
        f"  {'call':<7} {'n':>6} {'p50':>9} {'p95':>9}  | after: {'n':>6} {'p50':>9} {'p95':>9}",
    ]
    for name in figures.PHASE_CALLS:
        during, after = phases[name]["while_entering"], phases[name]["after"]
        out.append(
            f"  {name:<7} {during['n']:>6} {_num(during.get('p50_ms'), '>9')} {_num(during.get('p95_ms'), '>9')}"
            f"  |        {after['n']:>6} {_num(after.get('p50_ms'), '>9')} {_num(after.get('p95_ms'), '>9')}"
        )
    windows = phases.get("holds_by_10_s") or []
    if windows:
        out.append(
            "  holds while entering, 10 s at a time from the first entry: n, p95 ms "
            "(their mean: proxy queue + app + rest): " + ", ".join(_window_text(w) for w in windows)
        )
    return out


def _window_text(window: dict) -> str:
    text = f"{window['from_s']}-{window['from_s'] + 10} s {window['n']}, {_num(window.get('p95_ms'), '.0f')}"
    means = window.get("split_mean_ms")
    if means:
        text += f" ({means['proxy_queue']:.0f} + {means['app']:.0f} + {means['rest']:.0f})"
    return text


def _cores_lines(cores: dict | None, waiting_shares: dict | None = None) -> list[str]:
    """Where the cores went while the crowd was entering (the opening: every core busy) and after,
    and the waiting fans' share of the server's in each."""
    if not cores or not cores["while_entering"]:
        return []
    during, after = cores["while_entering"], cores["after"]
    names = sorted(
        (name for name in during if name != "machine" and not name.endswith((" waited", " slices"))),
        key=lambda name: -(during[name] or 0),
    )

    def waited(figures: dict, name: str) -> str:
        seconds, slices = figures.get(f"{name} waited"), figures.get(f"{name} slices")
        if seconds is None or seconds < 0 or not slices or slices < 0:
            return "-"  # unreadable, or threads that ended took their figures with them (PostgreSQL's)
        return f"{seconds:.2f} ({seconds / slices * 1000:.2f} ms)"

    lines = [
        "CPU while fans were still entering | after, in cores (1.0 = one core busy all the time): "
        f"the machine {_num(during.get('machine'))} | {_num(after.get('machine'))} of {os.cpu_count()}",
        "  " + ", ".join(f"{name} {_num(during[name])} | {_num(after.get(name))}" for name in names),
        "waiting for a core while fans were still entering | after: thread-seconds per second (per wake-up)",
        "  " + ", ".join(f"{name} {waited(during, name)} | {waited(after, name)}" for name in names if name != "redis"),
    ]
    if waiting_shares:
        lines.append(
            "waiting fans' share of the server's CPU, all in, while fans were still entering | after: "
            f"{_pct(waiting_shares.get('while_entering'))} | {_pct(waiting_shares.get('after'))} "
            "(their parts of HAProxy and Redis, and the admitted fans' leaves' part of the event loop, as over "
            "the whole run)"
        )
    return lines


def _waiting_fan_cost_lines(cost: dict | None) -> list[str]:
    if not cost:
        return []
    return [
        f"waiting fans' own cost after the entries, all in: {cost['us_per_fan_second']} us of CPU per waiting fan "
        f"and second ({cost['cores']} of a core for {cost['mean_waiting_fans']} waiting on average; "
        "a figure runs of any length compare by, unlike the share)"
    ]


def _split_lines(split: dict, lag: dict, gc_pauses: dict | None) -> list[str]:
    """Where the client's time went (HAProxy's Server-Timing header), and the load generator's own
    delay: what separates the client's latency from the server's."""
    if not split:
        return []
    out = [
        "client time split, ms: proxy queue = waiting in HAProxy for a free thread of the pool; app = the pool's "
        "answer as HAProxy timed it; rest = connection, transfer and the load generator's own delays",
        f"  {'call':<7} {'p95 queue':>9} {'p95 app':>9} {'p95 rest':>9}  | slowest 5 %: "
        "mean client = queue + app + rest",
    ]
    for name in figures.ENDPOINTS:
        v = split.get(name)
        if not v or not v.get("n"):
            continue
        slow = v["slowest_5pct_mean_ms"]
        out.append(
            f"  {name:<7} {_num(v['proxy_queue']['p95_ms'], '>9')} {_num(v['app']['p95_ms'], '>9')} "
            f"{_num(v['rest']['p95_ms'], '>9')}  | {slow['client']} = {slow['proxy_queue']} + {slow['app']} + "
            f"{slow['rest']}"
        )
    if lag.get("n"):
        out.append(
            f"load generator's event loop, late to wake a sleeping fan: p50 {lag['p50_ms']} ms, "
            f"p95 {lag['p95_ms']} ms, p99 {lag['p99_ms']} ms, max {lag['max_ms']} ms"
            + (
                f"; its full garbage collections: {gc_pauses['n']}, {gc_pauses['total_s']} s in all, longest "
                f"{gc_pauses['max_ms']} ms"
                if gc_pauses
                else ""
            )
        )
    return out


def _sell_out_lines(so: dict | None) -> list[str]:
    if not so:
        return []

    def measured(name: str, seconds: float | None, ratio: float | None, floor_s: float) -> str:
        if not seconds:
            return f"  {name}: not within the run (floor {floor_s} s)"
        return f"  {name}: {seconds} s = {_num(ratio)} x its floor {floor_s} s"

    verdict = "met" if so["met"] else "NOT met"
    return [
        f"sell-out floors (the fans' pauses only, zero server time): mean journey of an admitted fan "
        f"{so['mean_journey_s']} s, {so['active_size']} places, {so['seats_total']} seats; steady sale "
        f"{so['floor_s']} s; every seat held or sold {so['taken_floor_s']} s; every seat paid {so['paid_floor_s']} s "
        f"(abandoned holds' seats come back after the {so['hold_seconds']:g} s hold and fans waiting for returns "
        f"buy them: {so['abandoned_hold_rounds']} rounds expected)",
        measured("sold out (every seat held or sold: SPEC)", so["taken_s"], so["taken_ratio"], so["taken_floor_s"]),
        measured("every seat paid", so["paid_s"], so["paid_ratio"], so["paid_floor_s"]),
        *(
            [
                f"  every seat paid against the {so['abandoned_hold_rounds_seen']} rounds of abandoned holds this "
                f"run's last seat paid waited for: {_num(so['paid_ratio_seen'])} x their floor "
                f"{so['paid_floor_seen_s']} s (judged by this one)"
            ]
            if so.get("paid_ratio_seen") is not None
            else []
        ),
        f"  target <= {so['target_ratio']} x for both: {verdict}",
    ]


def _cpu_lines(cpu: dict | None, procs: dict[str, float | None]) -> list[str]:
    if not cpu:
        return []
    out = [
        f"server CPU over the rush: {cpu['window_s']} s x {cpu['cores']} cores = {cpu['capacity_core_s']} core-s; "
        f"the machine was busy {_num(cpu['machine_busy_s'])} core-s ({_pct(cpu['machine_busy_share'])})",
        f"  {'where':<34} {'CPU-s':>9} {'share':>7}",
    ]
    for name, seconds in cpu["server"].items():
        out.append(f"  {CPU_ROWS.get(name, name):<34} {_num(seconds, '>9.1f')} {_pct(cpu['server_shares'][name]):>7}")
    out += [
        f"  {'server total':<34} {cpu['server_total_s']:>9.1f} {_pct(1.0):>7}"
        f"   ({_pct(cpu['server_share_of_machine'])} of the machine)",
        f"  {'locust (the load generator)':<34} {_num(cpu['locust_s'], '>9.1f')}",
        f"  {'rest of the machine':<34} {_num(cpu['rest_of_machine_s'], '>9.1f')}",
        "CPU per call: Django request code (stagegate_request_cpu_seconds); the server share adds the call's "
        "part of gunicorn's overhead (by requests)",
        f"  {'call':<28} {'requests':>9} {'CPU-s':>8} {'us/req':>7} {'of Django':>10} {'of server':>10}",
    ]
    for name, e in cpu["endpoints"].items():
        out.append(
            f"  {name:<28} {e['requests']:>9} {e['cpu_s']:>8.2f} {_num(e['cpu_us_per_request'], '>7')} "
            f"{_pct(e['share_of_request_cpu']):>10} {_pct(e['share_of_server_cpu']):>10}"
        )
    if procs:
        out.append(
            "CPU per stack process (with its children): " + ", ".join(f"{n} {_num(s)} s" for n, s in procs.items())
        )
    w = cpu["waiting_calls"]
    # The goal is about their whole cost: judged with their part of the proxy and Redis when known.
    judged = w.get("share_of_server_cpu_all_in") or w["share_of_server_cpu"]
    met = judged is not None and judged <= w["goal_max_share"]
    out.append(
        f"waiting fans ({' + '.join(w['calls'])} + event streams): {w['requests']} requests and "
        f"{w.get('streams_cpu_s', 0)} CPU-s of the event loop (streams and API-key entries), "
        f"{w['cpu_s']} CPU-s of requests = "
        f"{_pct(w['share_of_request_cpu'])} of Django's request CPU, {_pct(w['share_of_server_cpu'])} of the "
        f"server's; with their part of HAProxy and Redis (by requests, status events counted for Redis) "
        f"{_num(w.get('proxy_and_redis_cpu_s'))} CPU-s more: {_pct(w.get('share_of_server_cpu_all_in'))} all in "
        f"(goal <= {_pct(w['goal_max_share'])}: {'met' if met else 'NOT met'})"
    )
    if w.get("admitted_leaves"):
        out.append(
            f"  not in it: the {w['admitted_leaves']} leaves, made by admitted fans after a sold-out answer, "
            f"{_num(w.get('admitted_leaves_cpu_s'))} CPU-s of the event loop, HAProxy and Redis (by requests "
            f"and status events); counted with the waiting fans, as until 2026-12-05: "
            f"{_pct(w.get('share_of_server_cpu_all_in_with_admitted_leaves'))}"
        )
    return out


def _load_generator_lines(lg: dict | None) -> list[str]:
    if not lg:
        return []
    busiest = lg.get("busiest_process_share_of_one_core", lg["share_of_one_core"])
    note = (
        f"SATURATED (over {figures.LOCUST_SATURATED_SHARE:.0%} of a core: its own delays inflate the client "
        "latencies; run more locust workers, --load-generator-workers)"
        if figures.load_generator_saturated(lg)
        else "not saturated"
    )
    return [
        f"load generator ({_locust_processes(lg.get('processes', 1))}): {lg['cpu_s']} CPU-s over {lg['wall_s']} s = "
        f"{_pct(lg['share_of_one_core'])} of one core, {_pct(lg['share_of_machine'])} of the machine; "
        f"busiest process {_pct(busiest)} of a core, "
        f"busiest 10 s of a process {_pct(lg['peak_10s_share_of_one_core'])} of a core, peak memory "
        f"{lg.get('peak_memory_mib', '-')} MiB: {note}"
    ]


def _locust_processes(processes: int) -> str:
    return "one locust process" if processes == 1 else f"locust: a master and {processes - 1} workers"


def _mem_gib() -> int:
    with open("/proc/meminfo") as fh:
        kib = int(fh.readline().split()[1])
    return round(kib / 1024 / 1024)


def say(text: str) -> None:
    print(f"[loadtest] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

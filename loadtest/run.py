"""The load test: an on-sale rush against the stack as deployed on this machine.

    scripts/loadtest [--fans 5000] [--active-size 100] ...      (python -m loadtest.run --help)

1. Recreates its own database (`stagegate_load`), clears its own Redis prefix (`sgload`),
   migrates, writes the beat schedule, seeds the venues, a concert with one 1,000-seat show at
   예술의 전당 콘서트장 (booking open now) and N fans with API tokens and charged wallets.
2. Starts two gunicorn instances on two ports (config/gunicorn.py, gthread), a Celery worker and
   Celery beat, all on that database and prefix (drills.stack).
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
import subprocess
import sys
import time

from drills.stack import ROOT, SETUP_STEPS, Stack, StackConfig, db_recreate, db_url, free_port, redis_prefix_clear


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fans", type=int, default=5000, help="fans in the rush (default 5000)")
    parser.add_argument("--active-size", type=int, default=100, help="concert's admitted users at once")
    parser.add_argument("--hold-minutes", type=int, default=1, help="concert's hold time before payment")
    parser.add_argument("--ramp-seconds", type=float, default=5, help="every fan has entered within this")
    parser.add_argument("--max-seconds", type=float, default=900, help="hard bound of the rush")
    parser.add_argument("--drain-seconds", type=float, default=10, help="run on this long after sell-out")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers per instance")
    parser.add_argument("--web-threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--db", default="stagegate_load", help="database (dropped and recreated)")
    parser.add_argument("--prefix", default="sgload", help="Redis key prefix (cleared)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)

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
        },
    )
    say(f"database {args.db} (recreated), Redis prefix {args.prefix}, logs in {run_dir.relative_to(ROOT)}")
    db_recreate(args.db)
    redis_prefix_clear(args.redis_url, args.prefix)

    with Stack(config, run_dir) as stack:
        for step in SETUP_STEPS:
            done = stack.manage(*step)
            if done.returncode:
                sys.stderr.write(done.stdout + done.stderr)
                return 1
        say(f"seeding a 1,000-seat show and {args.fans} fans")
        fans_file = run_dir / "fans.json"
        seeded = subprocess.run(
            [sys.executable, "-m", "loadtest.seed", "--fans", str(args.fans), "--active-size", str(args.active_size),
             "--hold-minutes", str(args.hold_minutes), "--out", str(fans_file)],
            cwd=ROOT, env=config.env(), capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if seeded.returncode:
            sys.stderr.write(seeded.stdout + seeded.stderr)
            return 1
        say(seeded.stdout.strip())
        seed_info = json.loads(fans_file.read_text())

        say("starting 2 web instances, a Celery worker and beat")
        webs = [
            stack.start_web(f"web{i}", port=free_port(), workers=args.web_workers, threads=args.web_threads)
            for i in (1, 2)
        ]
        stack.start_worker("worker1", concurrency=args.worker_concurrency)
        stack.start_beat("beat1")
        stack.wait_all_ready(timeout=90)
        say("stack up: " + ", ".join(web.url for web in webs))

        concert_tag = f"{{c{seed_info['concert_id']}}}"
        rush_config = {
            "hosts": [web.url for web in webs],
            "fans_file": str(fans_file),
            "fans": args.fans,
            "active_size": args.active_size,
            "ramp_seconds": args.ramp_seconds,
            "max_seconds": args.max_seconds,
            "drain_seconds": args.drain_seconds,
            "grace_seconds": 60,
            "redis_url": args.redis_url,
            "redis_keys": [f"{args.prefix}:queue:{concert_tag}:{name}" for name in ("waiting", "active", "admits")],
            "database_url": config.database_url,
        }
        (run_dir / "rush.json").write_text(json.dumps(rush_config, indent=2))
        result_file = run_dir / "rush-result.json"
        say(f"the rush: {args.fans} fans within {args.ramp_seconds:g}s (bounded by {args.max_seconds:g}s)")
        rush = subprocess.run(
            [sys.executable, "-m", "loadtest.rush", "--config", str(run_dir / "rush.json"), "--out", str(result_file)],
            cwd=ROOT, env={**config.env(), "DJANGO_SETTINGS_MODULE": ""},
            timeout=args.max_seconds + 300,
        )  # fmt: skip
        procs_alive = {proc.name: proc.alive() for proc in stack.procs}
        say("stopping the stack")

    if rush.returncode or not result_file.exists():
        say(f"the rush failed (exit {rush.returncode})")
        return 1
    result = json.loads(result_file.read_text())

    checks = {}
    for command in ("check_inventory", "check_ledger"):
        done = Stack(config, run_dir).manage(command)
        checks[command] = {"ok": done.returncode == 0, "output": (done.stdout + done.stderr).strip()}

    redis_prefix_clear(args.redis_url, args.prefix)  # the database stays for inspection; Redis is shared
    report = {
        "when_utc": stamp,
        "machine": {"cores": os.cpu_count(), "memory_gib": _mem_gib(), "python": platform.python_version()},
        "parameters": vars(args)
        | {"gunicorn": f"2 instances x {args.web_workers} workers x {args.web_threads} threads (gthread)"},
        "processes_alive_at_end": procs_alive,
        **result,
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


def summary(r: dict) -> str:
    lat = r["latency"]

    def line(name: str) -> str:
        p = lat.get(name, {"n": 0})
        if not p["n"]:
            return f"  {name:<6} n=0"
        return f"  {name:<6} n={p['n']:<6} p50 {p['p50_ms']:>8} ms  p95 {p['p95_ms']:>8} ms  p99 {p['p99_ms']:>8} ms"

    t, polls = r["tokens_issued"], r["polls"]
    f, s = r["freed_place_to_next_admission"], r["admission_to_fan_sees_active"]
    out = [
        f"Stagegate load test {r['when_utc']} UTC: {r['fans']} fans, machine {r['machine']['cores']} cores "
        f"{r['machine']['memory_gib']} GiB, {r['parameters']['gunicorn']}, active size {r['active_size']}",
        f"duration {r['duration_s']} s ({r['stop_reason']}); time to sell out: {r['time_to_sell_out_s']} s "
        f"after the first enter; final seats {r['final_seats']}",
        f"tokens issued: {t.get('n')} in {t.get('span_s')} s = {t.get('mean_per_s')}/s (peak {t.get('peak_per_s')}/s)",
        f"polls: {polls.get('n')} = {polls.get('mean_per_s')}/s (peak {polls.get('peak_per_s')}/s)",
        "latency:",
        *(line(name) for name in ("enter", "poll", "shows", "seats", "hold", "pay", "refund", "leave", "charge")),
        f"freed place (answer to the payer) -> next admission: n={f.get('n')} p50 {f.get('p50_ms')} ms "
        f"p95 {f.get('p95_ms')} ms p99 {f.get('p99_ms')} ms",
        f"admission -> fan sees ACTIVE (poll): n={s.get('n')} p50 {s.get('p50_ms')} ms p95 {s.get('p95_ms')} ms",
        f"active set max seen {r['max_active_seen']} (size {r['active_size']}); waiting max {r['max_waiting_seen']}; "
        f"admissions {r['admissions_seen']}",
        f"outcomes: {r['outcomes']}",
        f"errors by code: {r['errors_by_code']}",
        f"5xx: {r['server_errors_5xx']}, connection errors: {r['connection_errors']}",
        *(
            f"{name}: {'OK' if c['ok'] else 'FAILED'}: {c['output'].splitlines()[-1] if c['output'] else ''}"
            for name, c in r["checks"].items()
        ),
    ]
    return "\n".join(out) + "\n"


def _mem_gib() -> int:
    with open("/proc/meminfo") as fh:
        kib = int(fh.readline().split()[1])
    return round(kib / 1024 / 1024)


def say(text: str) -> None:
    print(f"[loadtest] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

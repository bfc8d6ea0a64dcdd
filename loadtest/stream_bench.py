"""What each kind of waiting fan's call costs the server, one kind at a time.

    scripts/bench-streams [--fans 10000] [--rate 200] [--slices 12] [--compare PATH]
                                                         (python -m loadtest.stream_bench --help)

The load test's waiting crowd costs the sum of its entries, stream openings, statuses, heartbeats
and leaves, and a whole run's figures drift with the machine by up to 15 % within an hour: a
change worth a few per cent of one kind of call cannot show there. This bench seeds a throw-away
database (and Redis prefix, both removed at the end), starts the stack as deployed (HAProxy in
front of the event loop on its unix socket; drills.stack) and lets the fans into a room that does
not move (no Celery: only the first --active-size are admitted), then runs each kind of call alone
and prints, per call, the CPU of the event loop, of HAProxy and of Redis (from /proc):

  entries          POST /concerts/{id}/queue-tokens with an API key (the key cached, as after log-in),
                   at --entry-rate
  stream openings  a stream opened far back in the line: its status, and the stream ends
  refusals         a stream's opening without an API key (401 at once): the HTTP floor, what any
                   call costs the proxy and the event loop before the waiting room's own work
  statuses         the statuses of --held streams held open near the front, one every 5 s each
  heartbeats       their comment lines, one every 5 s each, with no status due

--compare PATH also starts the same stack from another checkout (a git worktree of another commit;
it runs with this checkout's virtualenv) on the same room, and runs both at once (the held
streams) or in alternating slices (openings: each slice of --slice-seconds to one side, the first
side alternating; entries: slices of a second; each after an uncounted second per side), so that
both see the machine's drift alike and their difference is the code's. The calls' rate is fixed;
the CPU per call is the figure.
"""

import argparse
import asyncio
import json
import os
import resource
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from drills.stack import (
    ROOT,
    Stack,
    StackConfig,
    child_pids,
    db_drop,
    db_recreate,
    db_url,
    redis_prefix_clear,
)
from loadtest.server import process_cpu_seconds

# The stream settings of the held-stream phases (each phase's stacks are started with them), and
# how long at least such a phase counts: two of those intervals.
HELD_INTERVAL_S = 5
STATUSES_EVERY_INTERVAL = {
    "QUEUE_REFRESH_MAX_SECONDS": str(HELD_INTERVAL_S),
    "QUEUE_EVENTS_STATUS_EVERY_REFRESHES": "1",
}
HEARTBEATS_EVERY_INTERVAL = {  # and a status only every QUEUE_REFRESH_MAX_SECONDS (120 s)
    "QUEUE_EVENTS_HEARTBEAT_SECONDS": str(HELD_INTERVAL_S),
    "QUEUE_EVENTS_STATUS_EVERY_REFRESHES": "1000",
}
EVENTS_PATH = "/api/v1/queue-tokens/current/events"
PROCESSES = ("event loop", "HAProxy", "Redis")


@dataclass
class Side:
    """One stack (one checkout's code) of one phase, and what its calls cost."""

    name: str
    stack: Stack
    port: int = 0
    pids: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    streams_lost: int = 0
    cpu_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PROCESSES, 0.0))

    def reset(self) -> None:
        self.calls, self.cpu_s = 0, dict.fromkeys(PROCESSES, 0.0)

    def cpu_now(self) -> dict[str, float]:
        return {name: process_cpu_seconds([pid, *child_pids(pid)]) for name, pid in self.pids.items()}

    def add_cpu(self, before: dict[str, float], after: dict[str, float], shared: float = 1.0) -> None:
        for name in PROCESSES:
            # Redis serves both sides: in a phase they run at once, each gets its share of it.
            self.cpu_s[name] += (after[name] - before[name]) * (shared if name == "Redis" else 1.0)


async def _http(port: int, method: str, path: str, headers: dict[str, str]):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    fields = [f"{name}: {value}" for name, value in headers.items()]
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", "Content-Length: 0", *fields]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    return reader, writer


def _auth(fan: dict, token: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Token {fan['token']}"}
    return headers | ({"X-Queue-Token": token} if token else {})


async def enter(side: Side, fan: dict) -> str:
    reader, writer = await _http(side.port, "POST", f"/api/v1/concerts/{fan['concert_id']}/queue-tokens",
                                 _auth(fan) | {"Connection": "close"})  # fmt: skip
    answer = await reader.read()
    writer.close()
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])["token"]


async def open_far_back(side: Side, fan: dict, token: str) -> None:
    reader, writer = await _http(side.port, "GET", EVENTS_PATH, _auth(fan, token) | {"Connection": "close"})
    answer = await reader.read()
    writer.close()
    if b"event: status" not in answer:
        raise RuntimeError(f"a stream opening got {answer[:300]!r}")
    side.calls += 1


async def refused(side: Side) -> None:
    reader, writer = await _http(side.port, "GET", EVENTS_PATH, {"Connection": "close"})
    answer = await reader.read()
    writer.close()
    if not answer.startswith(b"HTTP/1.1 401"):
        raise RuntimeError(f"a call without a key got {answer[:300]!r}")
    side.calls += 1


async def hold(side: Side, fan: dict, token: str, counting: asyncio.Event, done: asyncio.Event, marker: bytes) -> None:
    """A held stream; counts its lines that start with `marker` while `counting` is set."""
    try:
        reader, writer = await _http(side.port, "GET", EVENTS_PATH, _auth(fan, token))
    except OSError:
        side.streams_lost += 1
        return
    try:
        while not done.is_set():
            line = await reader.readline()
            if not line:
                side.streams_lost += 1  # its count falls short: the row's rate shows it
                return
            if counting.is_set() and line.startswith(marker):
                side.calls += 1
    finally:
        writer.close()


async def in_slices(sides: list[Side], work: Callable[[Side, int], Awaitable], *, rate: float, slices: int,
                    slice_s: float, start_at: int = 0) -> int:  # fmt: skip
    """Calls at `rate` per second, slice by slice, each slice to one side (the first alternating),
    each side's CPU counted over its own slices. Returns the calls started (their index)."""
    index = start_at
    for number in range(slices):
        for side in sides if number % 2 == 0 else sides[::-1]:
            before, started, calls = side.cpu_now(), time.monotonic(), []
            for n in range(int(rate * slice_s)):
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
                calls.append(asyncio.ensure_future(work(side, index)))
                index += 1
            await asyncio.gather(*calls)
            await asyncio.sleep(0.2)  # the last answers' closing
            side.add_cpu(before, side.cpu_now())
    return index


async def measured(sides: list[Side], work: Callable[[Side, int], Awaitable], *, start_at: int = 0, **pace) -> int:
    """in_slices after an uncounted second per side: a process's first calls cost more (its Redis
    connections, the interpreter's specialisation), and the side that went first paid more of it."""
    index = await in_slices(sides, work, rate=pace["rate"], slices=1, slice_s=1.0, start_at=start_at)
    for side in sides:
        side.reset()
    return await in_slices(sides, work, start_at=index, **pace)


def rows(kind: str, sides: list[Side], seconds: float) -> list[str]:
    out = []
    for side in sides:
        per_call = {name: side.cpu_s[name] / side.calls * 1e6 if side.calls else 0.0 for name in PROCESSES}
        out.append(
            f"{kind:<16} {side.name:<8} {side.calls:>7} {side.calls / seconds:>7.0f}  "
            + "".join(f"{per_call[name]:>12.1f}" for name in PROCESSES)
            + f"{sum(per_call.values()):>10.1f}"
        )
    if len(sides) == 2 and all(side.calls for side in sides):
        this, other = (sum(side.cpu_s.values()) / side.calls for side in sides)
        out.append(f"{'':<16} {'this vs other: ' + format(this / other - 1, '+.1%'):<33} of the server's CPU per call")
    return out


class Bench:
    def __init__(self, args: argparse.Namespace, run_id: str) -> None:
        self.args = args
        self.run_id = run_id
        self.checkouts = {"this": ROOT} | ({"other": Path(args.compare).resolve()} if args.compare else {})
        self.log_dir = ROOT / "var" / "bench-streams" / run_id
        self.redis = redis.Redis.from_url(args.redis_url)
        self.stacks: list[Stack] = []

    def config(self, code_root: Path, extra: dict[str, str] | None = None) -> StackConfig:
        return StackConfig(
            database_url=db_url(self.args.db),
            redis_prefix=self.args.prefix,
            redis_url=self.args.redis_url,
            code_root=code_root,
            extra_env={
                "THROTTLE_QUEUE_ENTER_IP": "1000000/min",  # every fan comes from 127.0.0.1
                "QUEUE_EVENTS_HOLD_MAX_POSITION": str(self.args.held + 50),
                **(extra or {}),
            },
        )

    def start(self, phase: str, extra: dict[str, str] | None = None) -> list[Side]:
        """A stack per checkout (the proxy and the event loop; gunicorn's pools idle) for a phase."""
        sides = []
        for name, code_root in self.checkouts.items():
            stack = Stack(self.config(code_root, extra), self.log_dir / f"{phase}-{name}")
            self.stacks.append(stack)
            procs = stack.start_deployed_layout()
            pids = {"event loop": procs["events"].pid, "HAProxy": procs["proxy"].pid}
            pids["Redis"] = int(self.redis.info("server")["process_id"])
            sides.append(Side(name=name, stack=stack, port=procs["proxy"].port, pids=pids))
        return sides

    def stop(self) -> None:
        while self.stacks:
            self.stacks.pop().stop_all()

    async def run(self, out) -> None:
        args = self.args
        fans = self.seed()
        seconds = args.slices * args.slice_seconds
        print(f"{'calls':<16} {'code':<8} {'n':>7} {'per s':>7}  " + "".join(f"{name:>12}" for name in PROCESSES)
              + f"{'all':>10}   (µs of CPU per call)", file=out, flush=True)  # fmt: skip

        # Entries: every fan, the sides in turn; the room then stays as they left it. The first
        # --active-size are admitted at once (not a waiting fan's entry): in before the count.
        sides = self.start("entries")
        tokens: list[str | None] = [None] * len(fans)
        admitted = range(args.active_size)
        tokens[: args.active_size] = await asyncio.gather(*(enter(sides[i % len(sides)], fans[i]) for i in admitted))

        async def entry(side: Side, index: int) -> None:
            tokens[index] = await enter(side, fans[index])
            side.calls += 1

        waiting = len(fans) - args.active_size - args.entry_rate * len(sides)  # less the warm-up
        # Slices of a second: the fans run out after a few thousand entries, and more turns of the
        # sides spread the machine's drift more evenly between them.
        slices = max(1, int(waiting / (args.entry_rate * len(sides))))
        pace = {"rate": args.entry_rate, "slices": slices, "slice_s": 1.0}
        done = await measured(sides, entry, start_at=args.active_size, **pace)
        for start in range(done, len(fans), 200):  # what rounding left over, uncounted
            left = range(start, min(start + 200, len(fans)))
            tokens[start : left.stop] = await asyncio.gather(*(enter(sides[0], fans[i]) for i in left))
        print("\n".join(rows("entries", sides, slices)), file=out, flush=True)

        # Stream openings far back in the line (each fan's again and again as the slices go on).
        far_back = list(range(args.active_size + args.held + 200, len(fans)))

        async def opening(side: Side, index: int) -> None:
            fan = far_back[index % len(far_back)]
            await open_far_back(side, fans[fan], tokens[fan])

        pace = {"rate": args.rate, "slices": args.slices, "slice_s": args.slice_seconds}
        await measured(sides, opening, **pace)
        print("\n".join(rows("stream openings", sides, seconds)), file=out, flush=True)
        await measured(sides, lambda side, _: refused(side), **pace)
        print("\n".join(rows("refusals", sides, seconds)), file=out, flush=True)
        self.stop()

        # Held streams near the front: their statuses, then (other settings) their heartbeats.
        held = range(args.active_size, args.active_size + args.held)
        # At least two intervals; at most 100 s, before the held streams' next status is due (120 s).
        held_s = min(max(seconds, 2 * HELD_INTERVAL_S), 100)
        for kind, extra, marker in (
            ("statuses", STATUSES_EVERY_INTERVAL, b"event: status"),
            ("heartbeats", HEARTBEATS_EVERY_INTERVAL, b": "),
        ):
            sides = self.start(kind, extra)
            counting, finished = asyncio.Event(), asyncio.Event()
            streams = []
            for number, index in enumerate(held):  # at most 500 a second: the loop's backlog
                if number % 50 == 0:
                    await asyncio.sleep(0.1)
                streams += [asyncio.ensure_future(hold(side, fans[index], tokens[index], counting, finished, marker))
                            for side in sides]  # fmt: skip
            await asyncio.sleep(6)  # their first statuses out
            befores = [side.cpu_now() for side in sides]
            counting.set()
            await asyncio.sleep(held_s)
            counting.clear()
            for side, before in zip(sides, befores, strict=True):
                side.add_cpu(before, side.cpu_now(), shared=1 / len(sides))
            finished.set()
            for stream in streams:
                stream.cancel()
            await asyncio.gather(*streams, return_exceptions=True)
            print("\n".join(rows(kind, sides, held_s)), file=out, flush=True)
            for side in sides:
                if side.streams_lost:
                    print(f"  {side.name}: {side.streams_lost} of its {args.held} streams ended early", file=out)
            self.stop()

    def seed(self) -> list[dict]:
        """The throw-away database: migrated, a concert open for booking and --fans fans with API keys."""
        db_recreate(self.args.db)
        redis_prefix_clear(self.args.redis_url, self.args.prefix)
        stack = Stack(self.config(ROOT), self.log_dir / "setup")
        info = stack.prepare_and_seed(
            "--fans", str(self.args.fans), "--active-size", str(self.args.active_size), "--hold-minutes", "5",
            out=self.log_dir / "fans.json",
        )  # fmt: skip
        return [fan | {"concert_id": info["concert_id"]} for fan in info["fans"]]


def main(argv: list[str] | None = None, out=sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fans", type=int, default=10_000, help="fans in the room")
    parser.add_argument("--active-size", type=int, default=100, help="admitted at once (the rest wait)")
    parser.add_argument("--held", type=int, default=3_000, help="streams held near the front, per side")
    parser.add_argument("--rate", type=float, default=200, help="stream openings per second")
    parser.add_argument("--entry-rate", type=float, default=500, help="entries per second")
    parser.add_argument("--slices", type=int, default=12, help="slices per side (per phase)")
    parser.add_argument("--slice-seconds", type=float, default=5)
    parser.add_argument("--compare", metavar="PATH", help="another checkout to run beside this one")
    parser.add_argument("--db", default="stagegate_bench_streams")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args(argv)
    run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    args.prefix = args.prefix or f"bench-streams:{secrets.token_hex(4)}"
    if args.fans < args.active_size + args.held + 250:
        parser.error("--fans must leave at least 250 fans behind the held streams (the far-back openings)")
    sides = 2 if args.compare else 1
    if args.fans - args.active_size < args.entry_rate * sides * 2:
        parser.error("--fans too few for a warm-up second and a second of entries per side at --entry-rate")
    # Each held stream is a descriptor here and two in HAProxy (drills.stack raises the proxy's).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    bench = Bench(args, run_id)
    print(f"stream bench {run_id}: {args.fans} fans ({args.active_size} admitted), {args.held} held streams, "
          f"openings at {args.rate:g}/s, {args.slices} slices of {args.slice_seconds:g} s per side; database "
          f"{args.db}, Redis prefix {args.prefix}; " + ", ".join(f"{k}: {v}" for k, v in bench.checkouts.items()),
          file=out, flush=True)  # fmt: skip
    try:
        asyncio.run(bench.run(out))
    finally:
        bench.stop()
        redis_prefix_clear(args.redis_url, args.prefix)
        db_drop(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())

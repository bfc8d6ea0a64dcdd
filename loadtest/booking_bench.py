"""What a hold and a payment cost: CPU, SQL statements and Python function calls per call, one call at a time.

    scripts/bench-booking [--fans 200] [--warm-up 30]          (python -m loadtest.booking_bench --help)

The load test reports a hold's and a payment's CPU too, but taken in the rush, where each call
also pays for sharing two cores with two dozen busy processes, and on a virtual machine whose speed
moves by the hour: the same code cost a hold 3.4 ms in one hour and 8.9 ms in another. This bench
runs the booking services alone, one call at a time, so that a change to the code can be told
from the machine's phase: run it before and after the change, interleaved, and compare the ratios
to the reference loop printed beside them (pure Python, the machine's speed at that moment). The
Python function calls of each call (cProfile, the median of three calls) do not move with the machine's
speed at all: in a phase when even the ratios wander, they tell a change apart.

Per fan, as the rush makes them: a hold that gets two seats, with the answer the API sends
(ReservationOutputSerializer of the reservation the hold returns with its seats); a hold of the
same seats by the next fan, refused (most holds in a rush are); the payment with the PIN and an
Idempotency-Key. Twice, with other fans and seats: through the services (the caller is the id-only user the API-key
authentication gives the views, so the PIN's hash is read as in the API), then through the API
(`POST /api/v1/reservations` and `.../payment` with the API key and an ACTIVE queue token, in this
process through Django's whole request handling: middleware, DRF, the booking guard; no HAProxy,
no gunicorn). Everything runs for real: transactions commit, and their after-commit work (the
seat map's version, metrics, the waiting room) goes to Redis.

Never touches real data: a throw-away PostgreSQL database `test_stagegate_bench_<run id>` (created
and migrated with Django's test-database machinery, dropped at the end) seeded as the load test's
(drills.seed), and a fresh Redis prefix `bench:<run id>` (deleted at the end).
"""

import argparse
import cProfile
import os
import pstats
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Names the run's database and Redis prefix; the prefix goes into the environment before Django's
# settings load (the cache's key prefix is built from it then).
RUN_ID = secrets.token_hex(4)
CALLS = ("hold", "hold refused", "payment")
# Fans whose calls count Python function calls (the median is printed), just before the last fan.
PROFILED_FANS = 3


@dataclass
class CallCost:
    name: str
    cpu_s: list[float] = field(default_factory=list)
    statements: int = 0
    python_calls_seen: list[int] = field(default_factory=list)

    @property
    def python_calls(self) -> int:
        return int(statistics.median(self.python_calls_seen)) if self.python_calls_seen else 0

    def line(self, reference_ms: float) -> str:
        cpu = sorted(self.cpu_s)
        median = statistics.median(cpu) * 1000
        p90 = cpu[int(0.9 * (len(cpu) - 1))] * 1000
        return (
            f"{self.name:<18}{len(cpu):>6}{median:>10.2f}{p90:>10.2f}{self.statements:>8}{self.python_calls:>10}"
            f"{median / reference_ms:>12.2f}"
        )


def reference_loop_ms() -> float:
    """CPU of a fixed pure-Python loop (the best of three): the machine's speed right now."""
    best = float("inf")
    for _ in range(3):
        start = time.thread_time()
        total = 0
        for i in range(200_000):
            total += i * i % 7
        best = min(best, time.thread_time() - start)
    return best * 1000


def bench(*, fans: int, warm_up: int) -> tuple[list[CallCost], float]:
    """Twice, with `fans` seeded fans each: through the services, then through the API. Each fan
    holds two seats, the next fan asks for the same two and is refused, the first pays. The first
    `warm_up` fans of each part are not counted (connections, caches, prepared statements)."""
    from django.test import Client

    from accounts.authentication import CachedApiKeyAuthentication
    from concerts.models import ShowSeat
    from drills.seed import seed
    from queueing.permissions import QUEUE_TOKEN_HEADER
    from queueing.services import queue_enter
    from reservations.apis import ReservationOutputSerializer
    from reservations.exceptions import SeatUnavailable
    from reservations.services import reservation_hold, reservation_pay

    # Every fan is admitted when entering: as many places as fans (and each leaves as it pays).
    seeded = seed(fans=2 * fans + 2, active_size=2 * fans + 2, hold_minutes=5, poor_share=0, rng=random.Random(7))
    show_id, concert_id, pin, fan_rows = seeded["show_id"], seeded["concert_id"], seeded["pin"], seeded["fans"]
    seat_ids = list(ShowSeat.objects.filter(show_id=show_id).order_by("pk").values_list("pk", flat=True))
    if len(seat_ids) < 4 * fans:
        raise SystemExit(f"--fans is at most {len(seat_ids) // 4} (two seats each, twice, on {len(seat_ids)} seats)")
    callers = [CachedApiKeyAuthentication.caller(fan["user_id"]) for fan in fan_rows]

    def hold(fan: int, seats: list[int]) -> int:
        reservation = reservation_hold(user=callers[fan], show_id=show_id, seat_ids=seats)
        ReservationOutputSerializer(reservation).data  # noqa: B018
        return reservation.pk

    def hold_refused(fan: int, seats: list[int]) -> None:
        try:
            reservation_hold(user=callers[fan], show_id=show_id, seat_ids=seats)
        except SeatUnavailable:
            return
        raise AssertionError("a hold of taken seats went through")

    def pay(fan: int, reservation_id: int) -> None:
        reservation_pay(
            user=callers[fan], reservation_id=reservation_id, pin=pin, idempotency_key=f"b-{reservation_id}"
        )

    # The API as a fan's client calls it: the API key and an ACTIVE queue token, through Django's
    # whole request handling (in this process: no HAProxy, no gunicorn).
    client = Client()
    queue_tokens: dict[int, str] = {}

    def admitted(fan: int) -> dict[str, str]:
        if fan not in queue_tokens:
            queue_tokens[fan] = queue_enter(user_id=fan_rows[fan]["user_id"], concert_id=concert_id).token
        return {"authorization": f"Token {fan_rows[fan]['token']}", QUEUE_TOKEN_HEADER: queue_tokens[fan]}

    def api(fan: int, path: str, body: dict, expected: int, headers: dict | None = None) -> dict:
        answer = client.post(
            f"/api/v1/{path}", body, content_type="application/json", headers={**admitted(fan), **(headers or {})}
        )
        if answer.status_code != expected:
            raise AssertionError(f"POST {path}: {answer.status_code} {answer.content[:200]!r}")
        return answer.json()

    def api_hold(fan: int, seats: list[int]) -> int:
        return api(fan, "reservations", {"show_id": show_id, "seat_ids": seats}, 201)["id"]

    def api_hold_refused(fan: int, seats: list[int]) -> None:
        api(fan, "reservations", {"show_id": show_id, "seat_ids": seats}, 409)

    def api_pay(fan: int, reservation_id: int) -> None:
        api(
            fan, f"reservations/{reservation_id}/payment", {"pin": pin}, 200, {"idempotency-key": f"b-{reservation_id}"}
        )

    costs = _bench_part(list(CALLS), (hold, hold_refused, pay), fans, warm_up, first_fan=0, seats=seat_ids)
    costs += _bench_part(
        [f"API {name}" for name in CALLS],
        (api_hold, api_hold_refused, api_pay),
        fans,
        warm_up,
        first_fan=fans + 1,
        seats=seat_ids[2 * fans :],
        before=admitted,  # a fan's client enters the waiting room before it books (not timed)
    )
    return costs, reference_loop_ms()


def _bench_part(
    names: list[str],
    calls: tuple[Callable, Callable, Callable],
    fans: int,
    warm_up: int,
    *,
    first_fan: int,
    seats: list[int],
    before: Callable[[int], object] | None = None,
) -> list[CallCost]:
    """Fan first_fan+i holds seats 2i and 2i+1, the next fan is refused them, and the first pays.
    The last fans' calls are not timed (counting costs CPU): PROFILED_FANS before the last count
    the Python function calls each makes, the last its SQL statements."""
    hold, hold_refused, pay = calls
    costs = [CallCost(name) for name in names]
    for i in range(fans):
        fan, pair = first_fan + i, seats[2 * i : 2 * i + 2]
        if before is not None:
            before(fan)
            before(fan + 1)
        if i < warm_up:
            how = "warm-up"
        elif i < fans - 1 - PROFILED_FANS:
            how = "timed"
        else:
            how = "python calls" if i < fans - 1 else "statements"
        reservation_id = _measured(costs[0], how, hold, fan, pair)
        _measured(costs[1], how, hold_refused, fan + 1, pair)
        _measured(costs[2], how, pay, fan, reservation_id)
    return costs


def _measured(cost: CallCost, how: str, call: Callable, *args):
    """Run the call; time it, count its Python function calls or its SQL statements (`how`)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if how == "statements":
        with CaptureQueriesContext(connection) as statements:
            result = call(*args)
        cost.statements = len(statements)
        return result
    if how == "python calls":
        # A count that does not move with the machine's speed: CPU in Python is mostly calls.
        profiler = cProfile.Profile()
        result = profiler.runcall(call, *args)
        cost.python_calls_seen.append(pstats.Stats(profiler).total_calls)
        return result
    if how == "warm-up":
        return call(*args)
    start = time.thread_time()
    result = call(*args)
    cost.cpu_s.append(time.thread_time() - start)
    return result


def report(costs: list[CallCost], reference_ms: float, out) -> None:
    out.write(f"reference loop (pure Python, best of 3): {reference_ms:.2f} ms of CPU\n")
    header = f"{'call':<18}{'n':>6}{'CPU p50':>10}{'CPU p90':>10}{'SQL':>8}{'py calls':>10}{'p50 / ref':>12}"
    out.write(header + "   (ms; SQL statements and Python function calls per call)\n")
    for cost in costs:
        out.write(cost.line(reference_ms) + "\n")


def main(argv: list[str] | None = None, stdout=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--fans", type=int, default=200, help="fans who each hold two seats and pay, in each part (at most 250)"
    )
    parser.add_argument("--warm-up", type=int, default=30, help="first fans not counted")
    args = parser.parse_args(argv)
    least = PROFILED_FANS + 2  # a timed fan, the profiled ones and the last
    if args.fans < least or not 0 <= args.warm_up <= args.fans - least:
        parser.error(f"--fans must be at least {least}, and --warm-up at most --fans minus {least}")
    out = stdout or sys.stdout

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ["REDIS_KEY_PREFIX"] = f"bench:{RUN_ID}"
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from drills.stack import redis_prefix_clear

    if f"bench:{RUN_ID}" != settings.REDIS_KEY_PREFIX:  # Django was set up before: not its own prefix
        raise SystemExit("Run it as a script (scripts/bench-booking): it needs a Redis prefix of its own.")
    out.write(f"bench run {RUN_ID}: Redis prefix {settings.REDIS_KEY_PREFIX}, creating the bench database ...\n")
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"test_stagegate_bench_{RUN_ID}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        costs, reference_ms = bench(fans=args.fans, warm_up=args.warm_up)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        redis_prefix_clear(settings.REDIS_URL, settings.REDIS_KEY_PREFIX)
    report(costs, reference_ms, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

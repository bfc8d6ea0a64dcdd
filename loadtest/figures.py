"""The load test's server-side figures, as pure functions of what loadtest.server collected:

- server latency per endpoint from django-prometheus's request histograms (all web instances
  summed), percentiles interpolated within buckets;
- where the server CPU went: per endpoint (stagegate_request_cpu_seconds, core.metrics) and per
  process group (gunicorn, Celery, PostgreSQL, Redis), over the rush;
- the sell-out floor: the fastest sell-out the active size and the fans' own pauses allow.

No Django, no locust: run.py and the unit tests import this module as it is.
"""

from collections import defaultdict
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

from loadtest import behaviour

# One Prometheus sample: (sample name, sorted label pairs) -> value.
SampleKey = tuple[str, tuple[tuple[str, str], ...]]
Samples = dict[SampleKey, float]

LATENCY = "django_http_requests_latency_seconds_by_view_method"  # django-prometheus, label view + method
REQUEST_CPU = "stagegate_request_cpu_seconds_total"  # core.metrics.RequestCpuMiddleware

# (Django view name, method) -> the load test's name of the call (loadtest.rush). The view names
# are the URL names of the apps' urls.py (no namespace); poll and leave share one view.
ENDPOINT_VIEWS: dict[tuple[str, str], str] = {
    ("queue-token-create", "POST"): "enter",
    ("queue-token-current", "GET"): "poll",
    ("concert-show-list", "GET"): "shows",
    ("show-seat-list", "GET"): "seats",
    ("reservations", "POST"): "hold",
    ("reservation-payment", "POST"): "pay",
    ("reservation-refund", "POST"): "refund",
    ("queue-token-current", "DELETE"): "leave",
    ("wallet-charges", "POST"): "charge",
    # A website fan (loadtest.run --web-share): the concert page; the waiting room's form for a
    # browser without scripts (the load test's fans enter with the page's button, as "enter"); the
    # waiting page, which an admitted fan's page goes to (it takes the place over and leads to the
    # seat map page); the seat map page and its form's hold; the payment page and its PIN.
    ("pages:concert-detail", "GET"): "page_concert",
    ("pages:waiting-room", "POST"): "page_enter",
    ("pages:waiting-room", "GET"): "page_waiting",
    ("pages:seat-map", "GET"): "page_seats",
    ("pages:seat-map", "POST"): "page_hold",
    ("pages:payment", "GET"): "page_payment",
    ("pages:payment", "POST"): "page_pay",
}
# The waiting crowd's pages, and the admitted website fans' (the waiting page: in the load test
# only admitted fans load it, once, on their way to the seat map page).
PAGE_CALLS = ("page_concert", "page_enter")
BOOKING_PAGE_CALLS = ("page_waiting", "page_seats", "page_hold", "page_payment", "page_pay")
ENDPOINTS = list(ENDPOINT_VIEWS.values())
# The waiting fans' calls: issue #12's goal is that they take at most a third of the server CPU.
WAITING_CALLS = ("enter", "poll", *PAGE_CALLS)
# The waiting fans' requests as the client counts them: "events" is a stream's opening.
WAITING_CLIENT_CALLS = (*WAITING_CALLS, "events")
# A leave is served by the waiting room's pools, but the load test's fans leave only once
# admitted, after a sold-out answer (loadtest.rush; a waiting fan gives up without a call): the
# sale's call, not the crowd's, and counted with the admitted fans since 2026-12-05.
ADMITTED_LEAVE = "leave"
# The admitted fans' calls, whose client latency issue #12 bounds.
BOOKING_CALLS = ("shows", "seats", "hold", "pay")
# Split at the moment the last fan got into line: the booking calls, and a stream's first event
# (the waiting fans' answer, served by the event loop that also answers the entries).
PHASE_CALLS = (*BOOKING_CALLS, "events")
WAITING_CALLS_GOAL = 1 / 3
# The fastest sell-out is the floor; a run within 1.5 times it meets the target.
SELL_OUT_TARGET_RATIO = 1.5
# A single locust process past this share of one core delays its own fans.
LOCUST_SATURATED_SHARE = 0.8


def load_generator(processes: list[dict], wall_s: float, *, cores: int) -> dict:
    """The load generator's CPU over the rush from each of its processes' figures (cpu_s, wall_s,
    peak_10s_share_of_one_core, peak_memory_mib: the master's first, then each worker's). A
    process is one gevent loop, one core at most: the busiest process, and the busiest 10 s of
    any of them, tell whether it kept up."""
    cpu_s = sum(process["cpu_s"] for process in processes)
    return {
        "processes": len(processes),
        "cpu_s": round(cpu_s, 1),
        "wall_s": round(wall_s, 1),
        "share_of_one_core": round(cpu_s / wall_s, 3) if wall_s > 0 else None,
        "share_of_machine": round(cpu_s / wall_s / cores, 3) if wall_s > 0 else None,
        "busiest_process_share_of_one_core": round(max(p["cpu_s"] / p["wall_s"] for p in processes), 3),
        "peak_10s_share_of_one_core": round(max(p["peak_10s_share_of_one_core"] for p in processes), 3),
        "peak_memory_mib": round(sum(process["peak_memory_mib"] for process in processes)),
        "cores": cores,
    }


def load_generator_saturated(figures: dict) -> bool:
    """Past LOCUST_SATURATED_SHARE of a core in its busiest process or busiest 10 s (a report
    from one process, before the workers, has only the share of all of it)."""
    busiest = figures.get("busiest_process_share_of_one_core", figures["share_of_one_core"]) or 0
    return max(busiest, figures["peak_10s_share_of_one_core"]) > LOCUST_SATURATED_SHARE


# -- Prometheus text ----------------------------------------------------------------------------
def parse_metrics(text: str) -> Samples:
    """Every sample of a /metrics answer."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sum_samples(scrapes: Iterable[Samples]) -> Samples:
    """Samples of several instances added up, sample by sample (counters and histogram buckets)."""
    total: Samples = defaultdict(float)
    for samples in scrapes:
        for key, value in samples.items():
            total[key] += value
    return dict(total)


def subtract_samples(after: Samples, before: Samples) -> Samples:
    """What happened between two scrapes (a sample absent before counts from 0)."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def endpoint_name(view: str, method: str) -> str:
    """The load test's name of a call, or "<view> <method>" for any other (metrics, readyz...)."""
    return ENDPOINT_VIEWS.get((view, method), f"{view} {method}")


# -- latency --------------------------------------------------------------------------------------
def histogram_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile (0..1) of a Prometheus histogram given as (upper bound, cumulative count)
    pairs, the last bound +Inf; linear within the bucket that holds it, as Prometheus's
    histogram_quantile does (the first bucket starts at 0). A quantile in the +Inf bucket is the
    last finite bound: the histogram knows no more. None if nothing was observed."""
    buckets = sorted(buckets)
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank and cumulative > below:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / (cumulative - below)
        lower, below = upper, cumulative
    return lower


def server_latency(samples: Samples) -> dict[str, dict]:
    """Per call made: requests and p50/p95/p99 in ms of django-prometheus's view time: from the last
    middleware's request hook (PrometheusAfterMiddleware) to its response hook, i.e. URL
    resolution and the view, without the other middleware and without gunicorn's queueing."""
    buckets: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (name, labels), value in samples.items():
        if name != LATENCY + "_bucket":
            continue
        label = dict(labels)
        endpoint = endpoint_name(label.get("view", ""), label.get("method", ""))
        buckets[endpoint].append((float(label["le"]), value))
    out: dict[str, dict] = {}
    for endpoint, pairs in sorted(buckets.items()):
        ordered = sorted(pairs)
        n = int(round(ordered[-1][1]))
        if not n:  # not called between the two scrapes
            continue
        figure: dict = {"n": n}
        for q in (50, 95, 99):
            value = histogram_quantile(ordered, q / 100)
            figure[f"p{q}_ms"] = round(value * 1000, 1) if value is not None else None
        last_finite = ordered[-2] if len(ordered) > 1 else (0.0, 0.0)
        figure["over_last_bucket"] = int(round(n - last_finite[1]))  # slower than the last finite bound
        figure["last_bucket_ms"] = round(last_finite[0] * 1000, 1)
        out[endpoint] = figure
    return out


# -- CPU ------------------------------------------------------------------------------------------
def request_cpu(samples: Samples) -> dict[str, dict]:
    """Per call: requests (django-prometheus's count) and CPU-seconds inside Django
    (stagegate_request_cpu_seconds). Views the load test does not call keep their own name;
    views with neither requests nor CPU in the samples are left out."""
    out: dict[str, dict] = defaultdict(lambda: {"requests": 0, "cpu_s": 0.0})
    for (name, labels), value in samples.items():
        label = dict(labels)
        endpoint = endpoint_name(label.get("view", ""), label.get("method", ""))
        if name == LATENCY + "_count":
            out[endpoint]["requests"] += int(round(value))
        elif name == REQUEST_CPU:
            out[endpoint]["cpu_s"] += value
    return {endpoint: e for endpoint, e in out.items() if e["requests"] or e["cpu_s"]}


def cpu_breakdown(
    *,
    window_s: float,
    cores: int,
    machine_busy_s: float | None,
    web: list[tuple[float, dict[str, dict]]],
    groups: dict[str, float | None],
    locust_s: float | None,
    client_calls: dict[str, int] | None = None,
    status_events: int = 0,
) -> dict:
    """Where the CPU went over the rush.

    web: per gunicorn instance, the CPU-seconds of its process tree and request_cpu() of its own
    /metrics. groups: CPU-seconds of the other server processes ("proxy", "worker", "beat",
    "postgresql", "redis"...), None where it could not be measured.

    Each instance's CPU is split into the Django request code (the middleware's counter) and
    what gunicorn spends outside it (accepting, HTTP parsing, writing answers, its master). A
    call's share of the server's CPU adds to its own Django CPU a part of its instance's
    gunicorn overhead in proportion to its requests there (a request costs gunicorn about the
    same whatever its view).

    client_calls (the client's requests per call, a stream's opening as "events") and
    status_events share out the proxy and Redis, which serve both kinds of fans: the waiting
    fans' part of the proxy is their share of the requests, of Redis their share of the requests
    plus the status events (each runs the status script). An estimate by counts, not a
    measurement: it makes "all in", the waiting fans' whole cost the goal is about."""
    endpoints: dict[str, dict] = defaultdict(lambda: {"requests": 0, "cpu_s": 0.0, "overhead_s": 0.0})
    outside_total = 0.0
    for instance_cpu, calls in web:
        requests = sum(e["requests"] for e in calls.values())
        outside = instance_cpu - sum(e["cpu_s"] for e in calls.values())
        outside_total += outside
        for name, e in calls.items():
            endpoints[name]["requests"] += e["requests"]
            endpoints[name]["cpu_s"] += e["cpu_s"]
            endpoints[name]["overhead_s"] += outside * e["requests"] / requests if requests else 0.0
    request_cpu_total = sum(e["cpu_s"] for e in endpoints.values())
    rows: dict[str, float | None] = {
        "django_request_code": request_cpu_total,
        "gunicorn_outside_django": outside_total,
        **groups,
    }
    server_total = sum(value for value in rows.values() if value is not None)

    def share(part: float | None, whole: float) -> float | None:
        return round(part / whole, 3) if part is not None and whole > 0 else None

    table = {}
    for name, e in sorted(endpoints.items(), key=lambda item: -item[1]["cpu_s"]):
        table[name] = {
            "requests": e["requests"],
            "cpu_s": round(e["cpu_s"], 2),
            "cpu_us_per_request": round(e["cpu_s"] / e["requests"] * 1e6) if e["requests"] else None,
            "share_of_request_cpu": share(e["cpu_s"], request_cpu_total),
            "share_of_server_cpu": share(e["cpu_s"] + e["overhead_s"], server_total),
        }
    waiting = [endpoints[name] for name in WAITING_CALLS if name in endpoints]
    waiting_cpu = sum(e["cpu_s"] for e in waiting)
    # The event streams' pool (uvicorn: queueing.events, queueing.entering: streams, entries and
    # leaves with an API key) serves the waiting fans, and the admitted fans' leaves.
    events_cpu = groups.get("events") or 0.0
    leaves_share = _admitted_leaves_part(client_calls or {}, status_events)
    streams_cpu = events_cpu * (1 - leaves_share)
    narrow_waiting = waiting_cpu + sum(e["overhead_s"] for e in waiting) + streams_cpu
    shared_waiting = _waiting_part_of_proxy_and_redis(groups, client_calls or {}, status_events)
    shared_leaves = _part_of_proxy_and_redis(groups, client_calls or {}, status_events, (ADMITTED_LEAVE,), 0)
    leaves_cpu = events_cpu * leaves_share + shared_leaves if shared_leaves is not None else None
    measured = server_total + (locust_s or 0.0)
    capacity = window_s * cores
    return {
        "window_s": round(window_s, 1),
        "cores": cores,
        "capacity_core_s": round(capacity, 1),
        "machine_busy_s": round(machine_busy_s, 1) if machine_busy_s is not None else None,
        "machine_busy_share": share(machine_busy_s, capacity),
        "server": {name: round(value, 2) if value is not None else None for name, value in rows.items()},
        "server_total_s": round(server_total, 2),
        "server_shares": {name: share(value, server_total) for name, value in rows.items()},
        "server_share_of_machine": share(server_total, capacity),
        "locust_s": round(locust_s, 2) if locust_s is not None else None,
        # The rest of the busy machine: the kernel's own work, this script, other users.
        "rest_of_machine_s": round(machine_busy_s - measured, 2) if machine_busy_s is not None else None,
        "endpoints": table,
        "waiting_calls": {
            "calls": list(WAITING_CALLS),
            "requests": sum(e["requests"] for e in waiting),
            "cpu_s": round(waiting_cpu, 2),
            "share_of_request_cpu": share(waiting_cpu, request_cpu_total),
            "streams_cpu_s": round(streams_cpu, 2),
            "share_of_server_cpu": share(narrow_waiting, server_total),
            # With their part of the proxy and Redis (None without the client's counts).
            "proxy_and_redis_cpu_s": round(shared_waiting, 2) if shared_waiting is not None else None,
            "share_of_server_cpu_all_in": (
                share(narrow_waiting + shared_waiting, server_total) if shared_waiting is not None else None
            ),
            "goal_max_share": round(WAITING_CALLS_GOAL, 3),
            # The admitted fans' leaves (ADMITTED_LEAVE): their part of the event loop, the proxy and
            # Redis, and the share all in as the report judged it until 2026-12-05, with them.
            "admitted_leaves": (client_calls or {}).get(ADMITTED_LEAVE, 0),
            "admitted_leaves_cpu_s": round(leaves_cpu, 2) if leaves_cpu is not None else None,
            "share_of_server_cpu_all_in_with_admitted_leaves": (
                share(narrow_waiting + shared_waiting + leaves_cpu, server_total)
                if shared_waiting is not None and leaves_cpu is not None
                else None
            ),
        },
    }


def _waiting_part_of_proxy_and_redis(
    groups: dict[str, float | None], client_calls: dict[str, int], status_events: int
) -> float | None:
    """The waiting fans' part of the proxy's and Redis's CPU (see cpu_breakdown)."""
    return _part_of_proxy_and_redis(groups, client_calls, status_events, WAITING_CLIENT_CALLS, status_events)


def _part_of_proxy_and_redis(
    groups: dict[str, float | None],
    client_calls: dict[str, int],
    status_events: int,
    calls: tuple[str, ...],
    own_status_events: int,
) -> float | None:
    """These calls' part of the proxy's CPU (their share of the client's requests) and of Redis's
    (their share of the requests and status events, own_status_events theirs); None without counts."""
    requests = sum(client_calls.values())
    if not requests:
        return None
    theirs = sum(n for name, n in client_calls.items() if name in calls)
    proxy = (groups.get("proxy") or 0.0) * theirs / requests
    redis = (groups.get("redis") or 0.0) * (theirs + own_status_events) / (requests + status_events)
    return proxy + redis


def _admitted_leaves_part(client_calls: dict[str, int], status_events: int) -> float:
    """The admitted fans' leaves' part of the event loop's CPU: their share of its requests (the
    entries, stream openings and leaves) and status events, each counted as one. An estimate by
    counts like the proxy's, and a low one: a leave costs the loop about what an entry does, two
    to four status events' worth (scripts/bench-streams)."""
    loop_calls = ("enter", "events", ADMITTED_LEAVE)
    work = sum(client_calls.get(name, 0) for name in loop_calls) + status_events
    return client_calls.get(ADMITTED_LEAVE, 0) / work if work else 0.0


def waiting_cores(
    cores: dict[str, float | None],
    *,
    waiting_processes: tuple[str, ...],
    loop_process: str,
    client_calls: dict[str, int],
    status_events: int,
) -> tuple[float, float] | None:
    """The waiting fans' cores, all in, and the server's, over one phase of the run (the cores of
    each stack process, "proxy" and "redis" among them, as loadtest.server's timeline gives them):
    the waiting room's own processes but for the admitted fans' leaves' part of its event loop
    (loop_process), and their fractions of the proxy and Redis, as over the whole run. None where
    unknown."""
    server = {
        name: value or 0.0
        for name, value in cores.items()
        if name not in ("locust", "machine") and not name.endswith((" waited", " slices"))
    }
    total = sum(server.values())
    shared = _waiting_part_of_proxy_and_redis(server, client_calls, status_events)
    if shared is None or total <= 0:
        return None
    leaves = server.get(loop_process, 0.0) * _admitted_leaves_part(client_calls, status_events)
    return sum(server.get(name, 0.0) for name in waiting_processes) - leaves + shared, total


def waiting_share_of_cores(
    cores: dict[str, float | None],
    *,
    waiting_processes: tuple[str, ...],
    loop_process: str,
    client_calls: dict[str, int],
    status_events: int,
) -> float | None:
    """The waiting fans' share, all in, of the server's CPU over one phase of the run (see
    waiting_cores). Long runs spend their extra minutes after the entries, with the crowd still
    waiting and the sale near idle: this tells that phase apart. None where unknown."""
    both = waiting_cores(
        cores,
        waiting_processes=waiting_processes,
        loop_process=loop_process,
        client_calls=client_calls,
        status_events=status_events,
    )
    return round(both[0] / both[1], 3) if both else None


def waiting_fan_cost(waiting_cores_used: float | None, waiting_fans: list[int]) -> dict | None:
    """The waiting crowd's own cost over a phase: its cores, all in (waiting_cores), per fan
    waiting then (the room's size, sampled through the phase), in microseconds of CPU per waiting
    fan and second. Unlike the share of the server's CPU, it does not grow when the sale beside
    the crowd goes quiet (the share's whole shrinks), so runs of any length compare by it."""
    if waiting_cores_used is None or not waiting_fans or not sum(waiting_fans):
        return None
    mean_fans = sum(waiting_fans) / len(waiting_fans)
    return {
        "cores": round(waiting_cores_used, 4),
        "mean_waiting_fans": round(mean_fans),
        "us_per_fan_second": round(waiting_cores_used / mean_fans * 1e6, 2),
    }


# -- the sell-out floor ---------------------------------------------------------------------------
def _mean(bounds: tuple[float, float]) -> float:
    """The mean of a uniform draw between the bounds (randint's too: its values are evenly spaced)."""
    return (bounds[0] + bounds[1]) / 2


def sell_out_floor(*, seats_total: int, active_size: int, hold_seconds: float, poor_share: float) -> dict:
    """The fastest sell-out the fans themselves allow: the server answers in zero time, every
    admitted fan's place goes to the next fan the moment it is freed, and no two fans want the
    same seat. Then `active_size` places turn over, each held for the mean journey of an admitted
    fan (loadtest.behaviour's pauses; an abandoner keeps it until the hold expires), and each
    journey sells, on average, the mean seats a fan wants times the share of fans who end up
    paying and keeping them:

        floor = mean journey x seats_total / (mean seats sold per admitted fan) / active_size

    Refunded seats go back on sale; counting only the kept ones covers their second sale. Left
    out, so the floor is lower than any real run: the wait between an admission and the fan's
    next poll (about half of the front's refresh_after_seconds), holds lost to seat races, and
    the ramp of the first admissions."""
    to_hold = _mean(behaviour.SHOWS_PAUSE) + _mean(behaviour.PICK_PAUSE)
    paying = to_hold + _mean(behaviour.PIN_PAUSE)
    wrong_pin = _mean(behaviour.WRONG_PIN_PAUSE)
    # The place is freed by: the hold's expiry (abandoners), the 5th failure (one pause after
    # each of the 4 WRONG_PIN answers before it), or the payment (after 1-2 wrong PINs).
    shares_and_journeys = [
        (behaviour.ABANDON_SHARE, to_hold + hold_seconds),
        (behaviour.EXHAUST_SHARE, paying + (behaviour.PAYMENT_FAILURES_ALLOWED - 1) * wrong_pin),
        (behaviour.WRONG_PIN_SHARE, paying + _mean(behaviour.WRONG_PINS) * wrong_pin),
    ]
    rest = 1 - sum(share for share, _ in shares_and_journeys)
    shares_and_journeys.append((rest, paying))
    journey_s = sum(share * seconds for share, seconds in shares_and_journeys)

    weights = behaviour.SEAT_COUNT_WEIGHTS
    seats_wanted = sum(n * w for n, w in weights.items()) / sum(weights.values())
    # Who pays: not the abandoners, not the exhausters; of the too-poor, those who charge again.
    paying_share = (1 - behaviour.ABANDON_SHARE - behaviour.EXHAUST_SHARE) * (
        1 - poor_share * (1 - behaviour.RECHARGE_SHARE)
    )
    seats_per_fan = seats_wanted * paying_share * (1 - behaviour.REFUND_SHARE)
    floor_s = journey_s * seats_total / seats_per_fan / active_size
    # Sold out as the SPEC says it (every seat held or sold) comes first: a seat stays taken from
    # its hold on, except the exhausters' (released after their last failure, seconds later) and
    # the refunded ones; abandoned holds keep theirs for the hold time, longer than this floor.
    seats_taken_per_fan = seats_wanted * (1 - behaviour.EXHAUST_SHARE - paying_share * behaviour.REFUND_SHARE)
    taken_floor_s = journey_s * seats_total / seats_taken_per_fan / active_size
    # Every seat paid: the abandoned holds' seats come back only at their end, and fans waiting
    # for returns buy them (half a returns pause to see them, picking, the PIN); some of those
    # holds are abandoned in turn, and so on (abandoned_hold_rounds).
    rebuy_s = _mean(behaviour.RETURNS_PAUSE) / 2 + _mean(behaviour.PICK_PAUSE) + _mean(behaviour.PIN_PAUSE)
    rounds = abandoned_hold_rounds(admitted_fans=seats_total / seats_per_fan)
    return {
        "floor_s": round(floor_s, 1),
        "taken_floor_s": round(taken_floor_s, 1),
        "paid_floor_s": round(_paid_floor_s(floor_s, taken_floor_s, rounds, hold_seconds + rebuy_s), 1),
        "abandoned_hold_rounds": round(rounds, 2),
        "abandoned_hold_round_s": round(hold_seconds + rebuy_s, 2),
        "mean_journey_s": round(journey_s, 2),
        "mean_seats_wanted": round(seats_wanted, 3),
        "paying_share": round(paying_share, 3),
        "mean_seats_sold_per_admitted_fan": round(seats_per_fan, 3),
        "admitted_fans_needed": round(seats_total / seats_per_fan),
        "seats_total": seats_total,
        "active_size": active_size,
        "hold_seconds": hold_seconds,
        "poor_share": round(poor_share, 4),
    }


def _paid_floor_s(floor_s: float, taken_floor_s: float, rounds: float, round_s: float) -> float:
    return max(floor_s, taken_floor_s + rounds * round_s)


def abandoned_hold_rounds(*, admitted_fans: float) -> float:
    """The expected number of times the last seats wait for an abandoned hold to end. The sale's
    admitted fans abandon about ABANDON_SHARE of their holds; those seats come back together and
    about as many holds buy them again, of which the same share is abandoned, and so on: round
    k+1 happens when at least one of round k's holds is abandoned (at least one hold a round)."""
    share = behaviour.ABANDON_SHARE
    holds, happens, expected = admitted_fans, 1.0, 0.0
    while happens > 0.001:
        happens *= 1 - (1 - share) ** holds  # some hold of the round before was abandoned
        expected += happens
        holds = max(1.0, holds * share)
    return expected


def sell_out_versus_floor(
    taken_s: float | None, paid_s: float | None, floor: dict, *, rounds_seen: int | None = None
) -> dict:
    """The measured sell-out next to its floors: sold out as the SPEC says it (every seat held or
    sold) against taken_floor_s, every seat paid against paid_floor_s. The target is at most
    SELL_OUT_TARGET_RATIO for both.

    The paid floor counts the rounds of abandoned holds a sale has on average; `rounds_seen` is
    how many this run's last seat paid waited for (each ends only with its hold: no server can
    sell that seat sooner). When it is given, every seat paid is judged against the floor of the
    rounds seen (the same formula), and the expected rounds' ratio is kept beside it."""

    def ratio(measured_s: float | None, floor_s: float) -> float | None:
        return round(measured_s / floor_s, 2) if measured_s and floor_s > 0 else None

    paid_floor_seen_s = None
    if rounds_seen is not None:
        paid_floor_seen_s = round(
            _paid_floor_s(floor["floor_s"], floor["taken_floor_s"], rounds_seen, floor["abandoned_hold_round_s"]), 1
        )
    taken_ratio = ratio(taken_s, floor["taken_floor_s"])
    paid_ratio = ratio(paid_s, floor["paid_floor_s"])
    paid_ratio_seen = ratio(paid_s, paid_floor_seen_s) if paid_floor_seen_s else None
    judged = (taken_ratio, paid_ratio if paid_ratio_seen is None else paid_ratio_seen)
    return {
        **floor,
        "taken_s": taken_s,
        "taken_ratio": taken_ratio,
        "paid_s": paid_s,
        "paid_ratio": paid_ratio,
        "abandoned_hold_rounds_seen": rounds_seen,
        "paid_floor_seen_s": paid_floor_seen_s,
        "paid_ratio_seen": paid_ratio_seen,
        "target_ratio": SELL_OUT_TARGET_RATIO,
        "met": all(r is not None and r <= SELL_OUT_TARGET_RATIO for r in judged),
    }


def percentiles(values: list[float]) -> dict:
    """Nearest-rank p50/p95/p99/max, in ms, of durations in seconds."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pick(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": pick(50), "p95_ms": pick(95), "p99_ms": pick(99), "max_ms": pick(100)}


# -- where the client's time went ----------------------------------------------------------------
def proxy_timing(header: str) -> tuple[float, float] | None:
    """(proxy queue, app) in seconds from HAProxy's `Server-Timing: proxy-queue;dur=N, app;dur=N`."""
    durations = {}
    for part in header.split(","):
        name, _, rest = part.strip().partition(";dur=")
        try:
            durations[name] = float(rest) / 1000
        except ValueError:
            continue
    if "proxy-queue" not in durations or "app" not in durations:
        return None
    return max(0.0, durations["proxy-queue"]), max(0.0, durations["app"])


def split_means_ms(rows: list[tuple[float, ...]]) -> dict:
    """The mean client time of these calls and where it went, ms: the proxy's queue, the app and the
    rest. Rows are (latency, proxy queue, app, ...) in seconds, as in latency_split; {} for none."""
    if not rows:
        return {}

    def mean_ms(values: list[float]) -> float:
        return round(sum(values) / len(values) * 1000, 1)

    return {
        "client": mean_ms([r[0] for r in rows]),
        "proxy_queue": mean_ms([r[1] for r in rows]),
        "app": mean_ms([r[2] for r in rows]),
        "rest": mean_ms([r[0] - r[1] - r[2] for r in rows]),
    }


def latency_split(split: list[tuple[float, ...]]) -> dict:
    """Where the client's time went: the proxy's queue, the app (as HAProxy timed it) and the rest
    (connection, transfer and this process's own delays), over all calls and over the slowest 5 %.
    Rows are (latency, proxy queue, app, ...) in seconds (rush.py adds the call's start)."""
    if not split:
        return {"n": 0}
    ordered = sorted(split)
    slowest = ordered[int(0.95 * len(ordered)) :] or ordered[-1:]
    return {
        "n": len(ordered),
        "proxy_queue": percentiles([r[1] for r in ordered]),
        "app": percentiles([r[2] for r in ordered]),
        "rest": percentiles([max(0.0, r[0] - r[1] - r[2]) for r in ordered]),
        "slowest_5pct_mean_ms": split_means_ms(slowest),
    }

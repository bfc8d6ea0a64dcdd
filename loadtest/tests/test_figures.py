"""The load test's pure figures (loadtest.figures): no stack, no database."""

import math

import pytest
from django.urls import resolve

from loadtest import figures

INF = math.inf


def test_quantile_interpolates_linearly_within_its_bucket():
    buckets = [(0.1, 10.0), (0.2, 30.0), (INF, 40.0)]

    assert figures.histogram_quantile(buckets, 0.1) == pytest.approx(0.04)  # rank 4 of 10 in [0, 0.1]
    assert figures.histogram_quantile(buckets, 0.5) == pytest.approx(0.15)  # rank 20: 10 of 20 in (0.1, 0.2]


def test_quantile_skips_empty_buckets_and_stops_at_the_last_finite_bound():
    buckets = [(INF, 10.0), (0.1, 0.0), (0.2, 0.0), (0.5, 8.0)]  # order does not matter

    assert figures.histogram_quantile(buckets, 0.5) == pytest.approx(0.2 + 0.3 * 5 / 8)
    assert figures.histogram_quantile(buckets, 0.99) == 0.5  # in +Inf: the histogram knows no more


def test_quantile_of_an_empty_histogram_is_none():
    assert figures.histogram_quantile([(0.1, 0.0), (INF, 0.0)], 0.5) is None
    assert figures.histogram_quantile([], 0.5) is None


def _instance(poll_buckets: tuple[int, int, int], poll_cpu: float, hold_count: int, metrics_cpu: float = 0.5) -> str:
    low, mid, total = poll_buckets
    name = figures.LATENCY
    return f"""# HELP {name} h
# TYPE {name} histogram
{name}_bucket{{le="0.1",method="GET",view="queue-token-current"}} {low}
{name}_bucket{{le="1.0",method="GET",view="queue-token-current"}} {mid}
{name}_bucket{{le="+Inf",method="GET",view="queue-token-current"}} {total}
{name}_count{{method="GET",view="queue-token-current"}} {total}
{name}_sum{{method="GET",view="queue-token-current"}} 1.0
{name}_bucket{{le="0.1",method="POST",view="reservations"}} 0
{name}_bucket{{le="1.0",method="POST",view="reservations"}} {hold_count}
{name}_bucket{{le="+Inf",method="POST",view="reservations"}} {hold_count}
{name}_count{{method="POST",view="reservations"}} {hold_count}
{name}_sum{{method="POST",view="reservations"}} 1.0
# HELP stagegate_request_cpu_seconds c
# TYPE stagegate_request_cpu_seconds counter
stagegate_request_cpu_seconds_total{{view="queue-token-current",method="GET"}} {poll_cpu}
stagegate_request_cpu_seconds_total{{view="metrics",method="GET"}} {metrics_cpu}
stagegate_request_cpu_seconds_total{{view="readyz",method="GET"}} 0.125
"""


def test_server_latency_sums_the_instances_and_names_the_calls():
    one = figures.parse_metrics(_instance((60, 80, 100), 1.0, 4))
    two = figures.parse_metrics(_instance((40, 60, 100), 2.0, 6))

    latency = figures.server_latency(figures.sum_samples([one, two]))

    poll = latency["poll"]  # 200 polls: 100 under 0.1 s, 140 under 1 s
    assert poll["n"] == 200
    assert poll["p50_ms"] == pytest.approx(100.0)  # rank 100: the last of the first bucket
    assert poll["p95_ms"] == 1000.0  # rank 190: past 1 s, in +Inf
    assert poll["over_last_bucket"] == 60
    assert latency["hold"]["n"] == 10
    assert latency["hold"]["p50_ms"] == pytest.approx(100 + 900 * 5 / 10)


def test_the_rush_is_the_difference_of_two_scrapes():
    before = figures.parse_metrics(_instance((10, 10, 10), 0.25, 0, metrics_cpu=0.25))
    after = figures.parse_metrics(_instance((60, 80, 100), 1.0, 4))

    calls = figures.request_cpu(figures.subtract_samples(after, before))

    assert calls["poll"] == {"requests": 90, "cpu_s": 0.75}
    assert calls["hold"] == {"requests": 4, "cpu_s": 0.0}
    assert calls["metrics GET"] == {"requests": 0, "cpu_s": 0.25}  # another view keeps its name
    assert "readyz GET" not in calls  # nothing happened there


def test_cpu_breakdown_splits_gunicorn_and_shares_its_overhead_by_requests():
    queue_pool = {"poll": {"requests": 900, "cpu_s": 3.0}, "enter": {"requests": 100, "cpu_s": 1.0}}
    booking_pool = {"pay": {"requests": 100, "cpu_s": 2.0}, "metrics GET": {"requests": 0, "cpu_s": 0.5}}
    cpu = figures.cpu_breakdown(
        window_s=10.0,
        cores=2,
        machine_busy_s=19.0,
        web=[(6.0, queue_pool), (4.5, booking_pool)],  # 2 s and 2 s outside Django
        groups={"proxy": 0.5, "worker": 0.5, "beat": 0.5, "postgresql": 2.0, "redis": 1.0},
        locust_s=3.0,
    )

    assert cpu["server"]["django_request_code"] == 6.5
    assert cpu["server"]["gunicorn_outside_django"] == 4.0
    assert cpu["server_total_s"] == 15.0
    assert cpu["server_shares"]["postgresql"] == pytest.approx(2 / 15, abs=1e-3)
    assert cpu["rest_of_machine_s"] == 1.0  # 19 busy - 15 server - 3 locust
    assert cpu["machine_busy_share"] == 0.95
    assert list(cpu["endpoints"]) == ["poll", "pay", "enter", "metrics GET"]  # most CPU first
    poll, pay = cpu["endpoints"]["poll"], cpu["endpoints"]["pay"]
    assert poll["cpu_us_per_request"] == round(3.0 / 900 * 1e6)
    assert poll["share_of_request_cpu"] == pytest.approx(3 / 6.5, abs=1e-3)
    # Each call takes its instance's overhead by its requests there: poll 9/10 of the queue
    # pool's 2 s, pay all of the booking pool's 2 s (metrics made no request).
    assert poll["share_of_server_cpu"] == pytest.approx((3.0 + 1.8) / 15, abs=1e-3)
    assert pay["share_of_server_cpu"] == pytest.approx((2.0 + 2.0) / 15, abs=1e-3)
    waiting = cpu["waiting_calls"]  # enter + poll (+ leave, absent here)
    assert waiting["requests"] == 1000
    assert waiting["share_of_request_cpu"] == pytest.approx(4 / 6.5, abs=1e-3)
    assert waiting["share_of_server_cpu"] == pytest.approx((4.0 + 2.0) / 15, abs=1e-3)
    assert waiting["share_of_server_cpu_all_in"] is None  # no client counts to share the proxy by


def test_the_waiting_fans_take_their_part_of_the_proxy_and_redis():
    cpu = figures.cpu_breakdown(
        window_s=10.0,
        cores=2,
        machine_busy_s=None,
        web=[(3.0, {"pay": {"requests": 100, "cpu_s": 2.0}})],
        groups={"proxy": 2.0, "redis": 1.0, "events": 3.0},
        locust_s=None,
        # 250 of 400 requests are the waiting fans' (entries, stream openings); the 50 leaves are
        # the admitted fans' (the load test's fans leave only after a sold-out answer).
        client_calls={"enter": 200, "leave": 50, "events": 50, "pay": 100},
        status_events=600,
    )

    waiting = cpu["waiting_calls"]
    assert cpu["server_total_s"] == 9.0
    # The event loop but for the leaves' part: 50 of its 900 requests and status events.
    loop = 3.0 * 850 / 900
    assert waiting["share_of_server_cpu"] == pytest.approx(loop / 9, abs=1e-3)
    # The proxy by requests (250/400 of 2 s), Redis with the status events (850/1000 of 1 s).
    assert waiting["proxy_and_redis_cpu_s"] == pytest.approx(1.25 + 0.85)
    assert waiting["share_of_server_cpu_all_in"] == pytest.approx((loop + 2.1) / 9, abs=1e-3)
    # The leaves, their parts of the loop, the proxy and Redis; with them, the share as before.
    assert waiting["admitted_leaves"] == 50
    assert waiting["admitted_leaves_cpu_s"] == pytest.approx(3.0 * 50 / 900 + 0.25 + 0.05, abs=0.01)
    assert waiting["share_of_server_cpu_all_in_with_admitted_leaves"] == pytest.approx((3 + 2.4) / 9, abs=1e-3)


def test_the_waiting_fans_share_of_one_phase_counts_their_pools_and_their_parts_of_proxy_and_redis():
    # One phase's cores per stack process, as the timeline gives them (locust and the machine,
    # and the waits, are no part of the server).
    after = {
        "web-events": 0.05, "web-queue": 0.01, "web-booking": 0.04, "web-reads": 0.07, "proxy": 0.04,
        "redis": 0.02, "postgresql": None, "locust": 0.2, "machine": 0.5, "web-events waited": 0.03,
    }  # fmt: skip
    # 250 of 400 requests are the waiting fans' (5/8 of the proxy); with the status events 850 of
    # 1,000 of Redis's calls; the admitted fans' 50 leaves are 50 of the event loop's 900.
    calls = {"enter": 200, "leave": 50, "events": 50, "pay": 100}
    crowd = {"waiting_processes": ("web-events", "web-queue"), "loop_process": "web-events"}

    share = figures.waiting_share_of_cores(after, **crowd, client_calls=calls, status_events=600)

    assert share == pytest.approx((0.05 * 850 / 900 + 0.01 + 0.04 * 5 / 8 + 0.02 * 0.85) / 0.23, abs=1e-3)
    assert figures.waiting_share_of_cores(after, **crowd, client_calls={}, status_events=0) is None
    assert figures.waiting_share_of_cores({}, **crowd, client_calls=calls, status_events=0) is None


def test_cpu_breakdown_without_postgres_or_redis_figures():
    cpu = figures.cpu_breakdown(
        window_s=10.0,
        cores=2,
        machine_busy_s=None,
        web=[(2.0, {"poll": {"requests": 10, "cpu_s": 1.0}})],
        groups={"postgresql": None, "redis": None},
        locust_s=None,
    )

    assert cpu["server_total_s"] == 2.0
    assert cpu["server_shares"]["postgresql"] is None
    assert cpu["rest_of_machine_s"] is None


def test_sell_out_floor_from_the_fans_pauses():
    floor = figures.sell_out_floor(seats_total=1000, active_size=100, hold_seconds=60, poor_share=0.05)

    # Pauses' means: shows 0.6 + picking 0.9 = 1.5 s to the hold; the PIN 1.25 s; a wrong PIN 0.65 s.
    journey = (
        0.06 * (1.5 + 60)  # abandoners keep the place until the hold expires
        + 0.02 * (2.75 + 4 * 0.65)  # 5 failures: a pause after each of the first 4
        + 0.10 * (2.75 + 1.5 * 0.65)  # 1-2 wrong PINs, then paid
        + 0.82 * 2.75  # paid at once
    )
    seats = 2.45 * (0.92 * (1 - 0.05 * 0.5)) * 0.95  # wanted x paying share x kept (not refunded)
    assert floor["mean_journey_s"] == pytest.approx(journey, abs=0.01)
    assert floor["mean_seats_sold_per_admitted_fan"] == pytest.approx(seats, abs=0.001)
    assert floor["floor_s"] == pytest.approx(journey * 1000 / seats / 100, abs=0.1)


def test_sell_out_floor_halves_with_twice_the_places():
    small = figures.sell_out_floor(seats_total=1000, active_size=50, hold_seconds=300, poor_share=0.0)
    large = figures.sell_out_floor(seats_total=1000, active_size=100, hold_seconds=300, poor_share=0.0)

    assert small["floor_s"] == pytest.approx(2 * large["floor_s"], abs=0.1)


def test_sold_out_floor_counts_seats_taken_and_paid_floor_waits_for_an_abandoned_hold():
    floor = figures.sell_out_floor(seats_total=1000, active_size=100, hold_seconds=60, poor_share=0.05)

    paying = 0.92 * (1 - 0.05 * 0.5)
    taken_per_fan = 2.45 * (1 - 0.02 - paying * 0.05)  # not the exhausters', not the refunded
    assert floor["taken_floor_s"] == pytest.approx(floor["mean_journey_s"] * 1000 / taken_per_fan / 100, abs=0.1)
    assert floor["taken_floor_s"] < floor["floor_s"]  # a hold takes a seat before it is paid
    # Abandoned holds' seats: back after 60 s, seen (half of a 3 s returns pause), picked (0.9 s)
    # and paid (PIN 1.25 s), as many times as a round of such holds is expected.
    rounds = floor["abandoned_hold_rounds"]
    assert floor["paid_floor_s"] == pytest.approx(floor["taken_floor_s"] + rounds * (60 + 1.5 + 0.9 + 1.25), abs=0.1)


def test_abandoned_holds_come_back_in_fewer_rounds_the_fewer_there_are():
    # ~480 admitted fans: the sale's abandoned holds come back for sure (round 1); the ~29 holds
    # that buy them again are abandoned at least once with 1 - 0.94^29 = 83 %; then ~1.7 holds.
    rounds = figures.abandoned_hold_rounds(admitted_fans=480)

    p2 = 1 - 0.94**29
    assert rounds == pytest.approx(1 + p2 + p2 * (1 - 0.94**1.74), abs=0.02)
    assert figures.abandoned_hold_rounds(admitted_fans=1) < 0.07


def test_measured_sell_out_against_the_floors():
    floor = {"taken_floor_s": 40.0, "paid_floor_s": 100.0}

    assert figures.sell_out_versus_floor(58.0, 140.0, floor) == {
        "taken_floor_s": 40.0,
        "paid_floor_s": 100.0,
        "taken_s": 58.0,
        "taken_ratio": 1.45,
        "paid_s": 140.0,
        "paid_ratio": 1.4,
        "abandoned_hold_rounds_seen": None,
        "paid_floor_seen_s": None,
        "paid_ratio_seen": None,
        "target_ratio": 1.5,
        "met": True,
    }
    assert figures.sell_out_versus_floor(80.0, 140.0, floor)["met"] is False
    assert figures.sell_out_versus_floor(58.0, 160.0, floor)["met"] is False
    assert figures.sell_out_versus_floor(58.0, None, floor)["paid_ratio"] is None  # not within the run
    assert figures.sell_out_versus_floor(58.0, None, floor)["met"] is False


def test_every_seat_paid_is_judged_against_the_rounds_of_abandoned_holds_the_run_had():
    floor = figures.sell_out_floor(seats_total=1000, active_size=100, hold_seconds=60, poor_share=0.05)
    four_rounds_s = floor["taken_floor_s"] + 4 * floor["abandoned_hold_round_s"]
    late = 1.7 * floor["paid_floor_s"]  # over 1.5x the expected rounds' floor, under 1.5x four rounds'

    judged = figures.sell_out_versus_floor(floor["taken_floor_s"], late, floor, rounds_seen=4)

    assert judged["paid_ratio"] == pytest.approx(1.7, abs=0.01)
    assert judged["paid_floor_seen_s"] == pytest.approx(four_rounds_s, abs=0.1)
    assert judged["paid_ratio_seen"] == pytest.approx(late / four_rounds_s, abs=0.01)
    assert judged["met"] is True
    # One round fewer than expected lowers the floor: the same sale is then too slow.
    assert figures.sell_out_versus_floor(floor["taken_floor_s"], late, floor, rounds_seen=1)["met"] is False


@pytest.mark.parametrize(
    ("method", "path", "endpoint"),
    [
        ("POST", "/api/v1/concerts/1/queue-tokens", "enter"),
        ("GET", "/api/v1/queue-tokens/current", "poll"),
        ("DELETE", "/api/v1/queue-tokens/current", "leave"),
        ("GET", "/api/v1/concerts/1/shows", "shows"),
        ("GET", "/api/v1/shows/1/seats", "seats"),
        ("POST", "/api/v1/reservations", "hold"),
        ("POST", "/api/v1/reservations/1/payment", "pay"),
        ("POST", "/api/v1/reservations/1/refund", "refund"),
        ("POST", "/api/v1/wallet/charges", "charge"),
        ("GET", "/concerts/1/", "page_concert"),
        ("POST", "/concerts/1/queue/", "page_enter"),
        ("GET", "/concerts/1/queue/", "page_waiting"),
        ("GET", "/shows/1/seats/", "page_seats"),
        ("POST", "/shows/1/seats/", "page_hold"),
        ("GET", "/reservations/1/pay/", "page_payment"),
        ("POST", "/reservations/1/pay/", "page_pay"),
    ],
)
def test_every_call_of_the_rush_maps_to_its_view(method: str, path: str, endpoint: str):
    """The view names are django-prometheus's and the CPU counter's `view` label."""
    assert figures.endpoint_name(resolve(path).view_name, method) == endpoint


def test_proxy_timing_reads_haproxys_server_timing_header():
    assert figures.proxy_timing("proxy-queue;dur=1250, app;dur=40") == (1.25, 0.04)
    assert figures.proxy_timing("app;dur=40") is None  # not through the proxy
    assert figures.proxy_timing("") is None
    assert figures.proxy_timing("proxy-queue;dur=-1, app;dur=x") is None


def test_latency_split_puts_the_slowest_calls_time_where_it_went():
    # 19 quick calls, and one that waited 2 s in the proxy's queue and then 0.1 s more on the way.
    rows = [(0.05, 0.0, 0.04)] * 19 + [(2.2, 2.0, 0.1)]

    split = figures.latency_split(rows)

    assert split["n"] == 20
    assert split["slowest_5pct_mean_ms"] == {"client": 2200.0, "proxy_queue": 2000.0, "app": 100.0, "rest": 100.0}
    assert split["proxy_queue"]["max_ms"] == 2000.0
    assert split["app"]["p50_ms"] == 40.0


def test_split_means_say_where_a_window_of_calls_spent_its_time():
    # (latency, proxy queue, app, start): what rush.py records; the start is not part of the means.
    rows = [(1.0, 0.6, 0.1, 100.0), (0.5, 0.2, 0.1, 101.0)]

    assert figures.split_means_ms(rows) == {"client": 750.0, "proxy_queue": 400.0, "app": 100.0, "rest": 250.0}
    assert figures.split_means_ms([]) == {}


def test_the_waiting_crowds_own_cost_is_its_cores_per_fan_then_waiting():
    after = {"web-events": 0.05, "web-booking": 0.04, "proxy": 0.04, "redis": 0.02, "locust": 0.2, "machine": 0.5}
    calls = {"events": 300, "pay": 100}  # 3/4 of the proxy; with the status events 9/10 of Redis
    crowd = {"waiting_processes": ("web-events",), "loop_process": "web-events"}
    used, server = figures.waiting_cores(after, **crowd, client_calls=calls, status_events=600)

    cost = figures.waiting_fan_cost(used, [9_000, 8_000, 7_000])

    assert (used, server) == (pytest.approx(0.05 + 0.03 + 0.018), pytest.approx(0.15))
    assert cost == {"cores": 0.098, "mean_waiting_fans": 8_000, "us_per_fan_second": 12.25}
    # A quieter sale beside the same crowd raises the share, not the crowd's own cost.
    quieter = after | {"web-booking": 0.01}
    share = figures.waiting_share_of_cores(quieter, **crowd, client_calls=calls, status_events=600)
    assert share > used / server
    assert figures.waiting_fan_cost(None, [9_000]) is None and figures.waiting_fan_cost(0.1, []) is None

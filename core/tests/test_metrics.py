import re
from datetime import timedelta

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from core.metrics import metric_incr
from points.services import wallet_charge
from queueing.services import queue_enter, queue_leave, queue_promote
from reservations.tests.factories import make_show

pytestmark = pytest.mark.django_db


def scrape(client: Client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert match, f"{sample} not in /metrics"
    return float(match.group(1))


def test_request_metrics_are_exported(client: Client):
    client.get("/healthz")

    assert "django_http_requests_total_by_method_total" in scrape(client)


def test_domain_counters_count_what_happened(client: Client, django_capture_on_commit_callbacks):
    fan = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        wallet_charge(user=fan, amount=50_000)
        wallet_charge(user=fan, amount=20_000)
    metric_incr("payments", outcome="WRONG_PIN")

    text = scrape(client)

    assert value(text, "stagegate_points_charged_total") == 70_000
    assert value(text, 'stagegate_payments_total{outcome="WRONG_PIN"}') == 1


def test_waiting_room_gauges_per_concert_on_sale(client: Client, clock):
    show = make_show(queue_active_size=1)
    for _ in range(3):
        queue_enter(user_id=UserFactory().pk, concert_id=show.concert_id)

    text = scrape(client)

    assert value(text, f'stagegate_queue_active{{concert="{show.concert_id}"}}') == 1
    assert value(text, f'stagegate_queue_waiting{{concert="{show.concert_id}"}}') == 2


def test_queue_admissions_and_abandoned_places_are_counted(client: Client, clock):
    show = make_show(queue_active_size=1)
    concert_id = show.concert_id
    fans = [UserFactory().pk for _ in range(4)]
    first, *_ = [queue_enter(user_id=user_id, concert_id=concert_id) for user_id in fans]  # 1 admitted
    queue_leave(user_id=fans[0], token=first.token)  # the freed place: the second fan admitted

    assert value(scrape(client), f'stagegate_queue_admissions_total{{concert="{concert_id}"}}') == 2

    clock.advance(timedelta(minutes=show.concert.abandon_after_minutes, seconds=1))
    result = queue_promote(concert_id=concert_id)  # the two still waiting never polled

    text = scrape(client)
    assert (result.abandoned, result.admitted) == (2, 0)
    assert value(text, f'stagegate_queue_abandoned_total{{concert="{concert_id}"}}') == 2
    assert value(text, f'stagegate_queue_admissions_total{{concert="{concert_id}"}}') == 2


def test_request_cpu_is_counted_per_view_and_method(client: Client):
    sample = 'stagegate_request_cpu_seconds_total{method="GET",view="healthz"}'
    before = re.search(rf"^{re.escape(sample)} (\S+)$", scrape(client), re.MULTILINE)

    client.get("/healthz")
    client.get("/no-such-page")

    text = scrape(client)
    assert value(text, sample) > (float(before.group(1)) if before else 0.0)
    assert value(text, 'stagegate_request_cpu_seconds_total{method="GET",view="unresolved"}') > 0

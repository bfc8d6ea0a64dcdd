"""The organizers' sales dashboard of a show: its numbers (reservations.selectors) and its admin page."""

import itertools
from datetime import timedelta

import pytest
from django.test import Client
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from queueing import selectors as queue_selectors
from queueing.services import queue_enter
from reservations.selectors import show_sales_over_time, show_sales_summary
from reservations.services import reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(clock):
    """VIP 150,000 (B-1..10), R 100,000 (C-1..10): three VIP and one R paid, one VIP of them
    refunded, one R held, one VIP hold expired."""
    show = make_show(starts_in=timedelta(days=10), queue_active_size=1)
    buyer, holder, late = (fan_with_points(1_000_000) for _ in range(3))
    paid = reservation_hold(user=buyer, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2", "C-1"))
    reservation_pay(user=buyer, reservation_id=paid.pk, pin=DEFAULT_PIN)
    reservation_hold(user=late, show_id=show.pk, seat_ids=seats_of(show, "B-9"))
    clock.advance(timedelta(minutes=show.concert.hold_minutes + 1))  # B-9's hold runs out unpaid
    later = reservation_hold(user=buyer, show_id=show.pk, seat_ids=seats_of(show, "B-3"))
    reservation_pay(user=buyer, reservation_id=later.pk, pin=DEFAULT_PIN)
    reservation_refund(actor=buyer, reservation_id=paid.pk, seat_ids=seats_of(show, "B-2"))
    reservation_hold(user=holder, show_id=show.pk, seat_ids=seats_of(show, "C-2"))
    return show


def test_sold_held_free_and_revenue_per_grade_after_holds_payments_and_a_refund(sales, clock):
    summary = show_sales_summary(show=sales, now=clock.now())

    rows = {g.grade: (g.price, g.seats, g.sold, g.held, g.free, g.revenue) for g in summary.grades}
    # VIP: B-1, B-3 sold (B-2 refunded, free again); B-9's hold expired (free). R: C-1 sold, C-2 held.
    assert rows == {
        "VIP": (150_000, 10, 2, 0, 8, 300_000),
        "R": (100_000, 10, 1, 1, 8, 100_000),
    }
    assert (summary.seats, summary.sold, summary.held, summary.free, summary.revenue) == (20, 3, 1, 16, 400_000)


def test_sales_over_time_counts_the_tickets_sold_per_minute_with_empty_minutes_between(sales):
    kind, buckets = show_sales_over_time(show=sales, max_buckets=60)

    # 3 tickets paid, then (hold_minutes + 1) minutes later 1 more: every minute between is listed.
    assert kind == "minute"
    assert [b.tickets for b in buckets] == [3] + [0] * sales.concert.hold_minutes + [1]
    assert all(
        later.starts_at - earlier.starts_at == timedelta(minutes=1) for earlier, later in itertools.pairwise(buckets)
    )


def test_sales_over_time_takes_hours_when_minutes_would_be_too_many_bars(sales):
    kind, buckets = show_sales_over_time(show=sales, max_buckets=5)

    assert kind == "hour" and sum(b.tickets for b in buckets) == 4


def test_a_show_without_sales_has_no_buckets(clock):
    assert show_sales_over_time(show=make_show(), max_buckets=60) == ("minute", [])


def _organizer_client() -> Client:
    organizer = organizer_user()
    client = Client()
    client.force_login(organizer)
    return client


def test_an_organizer_sees_the_dashboard_linked_from_the_show(sales):
    for user_id in (9001, 9002, 9003):  # one fan admitted (active size 1), two waiting
        queue_enter(user_id=user_id, concert_id=sales.concert_id)
    client = _organizer_client()
    url = f"/admin/reservations/reservation/show/{sales.pk}/dashboard/"

    change = client.get(f"/admin/concerts/show/{sales.pk}/change/").content.decode()
    page = client.get(url)
    fragment = client.get(url, {"fragment": "1"})

    assert f'href="{url}"' in change
    assert page.status_code == 200 and fragment.status_code == 200
    html = page.content.decode()
    assert 'src="/static/js/sales_dashboard.js"' in html and "<script>" not in html and "style=" not in html
    assert page.context["sales"].revenue == 400_000 and "400,000원" in html
    assert html.count('data-status="SOLD"') == 3 and html.count('data-status="HELD"') == 1
    assert html.count('class="chart-bar"') == sales.concert.hold_minutes + 2
    queue = page.context["queue"]
    assert (queue.waiting, queue.active, page.context["admissions_per_minute"]) == (2, 1, 1.0)
    assert "<html" not in fragment.content.decode() and 'data-testid="dashboard-sales"' in fragment.content.decode()


@pytest.mark.security
def test_fans_anonymous_and_staff_without_show_permission_do_not_see_the_dashboard(sales, client):
    url = f"/admin/reservations/reservation/show/{sales.pk}/dashboard/"

    anonymous = client.get(url, {"fragment": "1"})
    client.force_login(fan_with_points(0))
    fan = client.get(url)
    client.force_login(UserFactory(is_staff=True))  # staff, but no permission on shows
    staff = client.get(url)

    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert fan.status_code == 302 and "/admin/login/" in fan["Location"]
    assert staff.status_code == 403


def test_an_unknown_show_is_not_found(sales):
    assert _organizer_client().get("/admin/reservations/reservation/show/999999/dashboard/").status_code == 404


def test_with_the_waiting_rooms_redis_down_the_sales_still_show(sales, monkeypatch):
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(queue_selectors, "queue_redis", lambda: down)  # nothing listens on port 1

    page = _organizer_client().get(f"/admin/reservations/reservation/show/{sales.pk}/dashboard/", {"fragment": "1"})

    assert page.status_code == 200 and page.context["queue"] is None
    assert "400,000원" in page.content.decode() and "대기열 수치를 읽을 수 없습니다" in page.content.decode()

"""An organizer watches a show's sales dashboard in real headless Chromium: it draws the seat map
and the chart without tripping the Content-Security-Policy, and takes in a new sale by itself.
Screenshot in artifacts/."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD, DEFAULT_PIN, UserFactory
from concerts.services import organizer_group_sync
from pages.tests.browser import ARTIFACTS, DESKTOP_SCREEN
from reservations.services import reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_sales_dashboard_draws_the_show_and_refreshes_itself(page: Page, settings):
    settings.SALES_DASHBOARD_REFRESH_SECONDS = 1
    show = make_show(starts_in=timedelta(days=10))
    fan = fan_with_points(1_000_000)
    paid = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))
    reservation_pay(user=fan, reservation_id=paid.pk, pin=DEFAULT_PIN)
    reservation_hold(user=fan_with_points(1_000_000), show_id=show.pk, seat_ids=seats_of(show, "C-5"))
    organizer = UserFactory(is_staff=True, name="주최자")
    organizer.groups.add(organizer_group_sync())

    page.set_viewport_size(DESKTOP_SCREEN)
    page.goto(f"/admin/login/?next=/admin/concerts/show/{show.pk}/change/")
    page.locator("input[name=username]").fill(organizer.phone)
    page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.get_by_role("link", name="판매 현황").click()

    expect(page).to_have_url(re.compile(rf"/show/{show.pk}/dashboard/$"))
    seat_map = page.get_by_test_id("dashboard-seat-map")
    expect(seat_map.locator("rect[data-status=SOLD]")).to_have_count(2)
    expect(seat_map.locator("rect[data-status=HELD]")).to_have_count(1)
    expect(page.get_by_test_id("dashboard-chart").locator("rect.chart-bar")).to_have_count(1)
    sold_vip = page.get_by_test_id("dashboard-sales").locator("tr[data-grade=VIP] td").nth(3)
    expect(sold_vip).to_have_text("2")
    # The seats are drawn in their colours (from the static style sheet, not style attributes).
    assert seat_map.locator("rect[data-status=SOLD]").first.evaluate("r => getComputedStyle(r).fill") != (
        seat_map.locator("rect[data-status=AVAILABLE]").first.evaluate("r => getComputedStyle(r).fill")
    )
    page.screenshot(path=str(ARTIFACTS / "sales_dashboard.png"), full_page=True)

    more = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-3"))
    reservation_pay(user=fan, reservation_id=more.pk, pin=DEFAULT_PIN)

    expect(sold_vip).to_have_text("3")  # no reload of the page: the numbers came in by themselves
    expect(seat_map.locator("rect[data-status=SOLD]")).to_have_count(3)

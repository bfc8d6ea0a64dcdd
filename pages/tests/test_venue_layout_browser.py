"""A hall with floors, aisles and seats of another grade, from the organizer's layout to the fan's
seat map, in real headless Chromium: the admin's preview before saving, the saved venue, and the
fan's map naming the floors and leaving the aisles. Nothing trips the Content-Security-Policy (the
`page` fixture fails the test on a blocked style or script).

Screenshots in artifacts/: venue_layout_preview.png (the layout entered, not saved yet),
venue_layout_saved.png, seat_map_sections_desktop.png and seat_map_sections_phone.png.
"""

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from concerts.models import Venue
from concerts.services import SEED_VENUES, venue_layout_parse
from pages.tests.browser import ARTIFACTS, DESKTOP_SCREEN, PHONE_SCREEN
from pages.tests.helpers import admit
from reservations.tests.factories import make_show, organizer_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HALL_TEXT = SEED_VENUES["예술의 전당 콘서트장"].strip().replace("        ", "")
SMALL_HALL_TEXT = "[1층]\n1 8 VIP 1=R 8=R | 4\n2-3 8 R | 4\n[2층 발코니]\n1 6 S 6=A | 3"


def admin_login(page: Page, next_url: str) -> None:
    organizer = organizer_user(name="주최자")
    page.goto(f"/admin/login/?next={next_url}")
    page.locator("input[name=username]").fill(organizer.phone)
    page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    page.locator("input[name=password]").press("Enter")


def test_an_organizer_previews_a_layout_with_floors_and_aisles_then_saves_it(page: Page):
    page.set_viewport_size(DESKTOP_SCREEN)
    admin_login(page, "/admin/concerts/venue/add/")
    page.locator("input[name=name]").fill("새 예술의 전당")
    page.locator("textarea[name=layout]").fill(HALL_TEXT)

    page.get_by_test_id("layout-preview-button").click()

    preview = page.get_by_test_id("layout-preview-map")
    expect(preview.locator("rect.seat")).to_have_count(1000)
    expect(page.get_by_test_id("layout-grade-counts")).to_contain_text("VIP 128")
    expect(page.get_by_test_id("layout-section-counts")).to_contain_text("2층")
    assert not Venue.objects.filter(name="새 예술의 전당").exists()  # a preview saves nothing
    # Grades in their colours (from the static style sheet), the aisles as wider gaps.
    fills = {
        grade: preview.locator(f"rect[data-grade={grade}]").first.evaluate("r => getComputedStyle(r).fill")
        for grade in ("VIP", "R", "S", "A")
    }
    assert len(set(fills.values())) == 4
    xs = [float(preview.locator(f'rect[data-seat="1층 1-{n}"]').get_attribute("x")) for n in (9, 10, 11, 12)]
    assert xs[2] - xs[1] > xs[1] - xs[0] == xs[3] - xs[2]
    page.screenshot(path=str(ARTIFACTS / "venue_layout_preview.png"), full_page=True)

    page.locator("input[name=_save]").click()

    expect(page).to_have_url(re.compile(r"/admin/concerts/venue/$"))
    venue = Venue.objects.get(name="새 예술의 전당")
    assert venue.seats.count() == 1000
    page.goto(f"/admin/concerts/venue/{venue.pk}/change/")
    expect(page.get_by_test_id("layout-preview-map").locator("rect.seat")).to_have_count(1000)
    expect(page.get_by_test_id("layout-shows-note")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "venue_layout_saved.png"), full_page=True)


@pytest.mark.parametrize(
    ("viewport", "screenshot"),
    [(DESKTOP_SCREEN, "seat_map_sections_desktop.png"), (PHONE_SCREEN, "seat_map_sections_phone.png")],
)
def test_the_fan_sees_the_floors_and_the_aisles_on_the_seat_map(browser, live_server, clock, viewport, screenshot):
    show = make_show(
        rows=venue_layout_parse(SMALL_HALL_TEXT), prices={"VIP": 150_000, "R": 120_000, "S": 90_000, "A": 60_000}
    )
    fan = UserFactory()
    client = Client()
    client.force_login(fan)
    admit(client, fan, show.concert_id)
    context = browser.new_context(base_url=live_server.url, locale="ko-KR", timezone_id="Asia/Seoul", viewport=viewport)
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.goto(f"/shows/{show.pk}/seats/")

    seat_map = page.get_by_test_id("seat-map")
    expect(seat_map.get_by_test_id("hall-section")).to_have_text(["1층", "2층 발코니"])
    # An aisle after seat 4 of the floor's rows: a wider gap there than between neighbours.
    boxes = [
        seat_map.locator(f'input[data-label="1층 2-{n}"]').locator("xpath=..").bounding_box() for n in (2, 3, 4, 5)
    ]
    if boxes[3]["y"] == boxes[2]["y"]:  # side by side (a phone may wrap the row at the aisle)
        assert boxes[3]["x"] - boxes[2]["x"] > boxes[2]["x"] - boxes[1]["x"] == boxes[1]["x"] - boxes[0]["x"]
    else:
        assert boxes[3]["y"] > boxes[2]["y"]
    # Seats of another grade in a row: in that grade's colour, label and price.
    edge = seat_map.locator('input[data-label="1층 1-1"]')
    assert edge.get_attribute("data-grade") == "R" and edge.get_attribute("data-price") == "120000"
    edge.check()
    expect(page.locator("#selection")).to_have_text("선택한 좌석: 1층 1-1 · 합계 120,000원")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # The whole page on one screen, so that the bar at the bottom covers no row in the picture.
    page.set_viewport_size({"width": viewport["width"], "height": page.evaluate("document.body.scrollHeight")})
    page.screenshot(path=str(ARTIFACTS / screenshot))
    assert violations == []
    context.close()


def test_the_seed_halls_overview_names_its_floors(browser, live_server, clock):
    show = make_show(
        rows=venue_layout_parse(SEED_VENUES["예술의 전당 콘서트장"]),
        prices={"VIP": 170_000, "R": 150_000, "S": 120_000, "A": 90_000},
    )
    fan = UserFactory()
    client = Client()
    client.force_login(fan)
    admit(client, fan, show.concert_id)
    context = browser.new_context(
        base_url=live_server.url, locale="ko-KR", timezone_id="Asia/Seoul", viewport=DESKTOP_SCREEN
    )
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"/shows/{show.pk}/seats/")

    overview = page.get_by_test_id("seat-overview")
    expect(overview.get_by_test_id("overview-hall-section")).to_have_text(["1층", "2층"])
    # 5 zones (1층 VIP, R, S; 2층 S, A) x 8 blocks: each row cut at its two aisles (10 | 20 | 10),
    # then into blocks of at most 6 seats.
    sections = overview.get_by_test_id("overview-section")
    expect(sections).to_have_count(5 * 8)
    expect(overview.locator(".overview-section.aisle-after")).to_have_count(5 * 2)  # the aisles, seen from above
    expect(page.get_by_test_id("section-caption")).to_have_text(re.compile(r"^1층 · VIP, 1–3열, "))
    sections.nth(4 * 8).click()  # the balcony's first block
    expect(page.get_by_test_id("section-caption")).to_have_text(re.compile(r"^2층 · A, 2–10열, 1–"))
    page.screenshot(path=str(ARTIFACTS / "seat_map_seed_hall_balcony.png"), full_page=True)
    context.close()

"""The seat map in real headless Chromium (Debian's), against a live server, the real PostgreSQL
and Redis: big halls through an overview of sections with every seat on screen, 44 px seats,
the keyboard, the sticky bar, best available and the live refresh.

Screenshots: artifacts/seat_map_hall_desktop.png (1280 px) and artifacts/seat_map_hall_phone.png
(390 x 844), the whole page; *_seats.png the screen as the fan sees it.
"""

import re
from datetime import timedelta

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.tests.factories import UserFactory
from pages.tests.browser import ARTIFACTS, PHONE_SCREEN
from pages.tests.helpers import admit
from reservations.models import Reservation
from reservations.services import reservation_hold
from reservations.tests.factories import make_show, seats_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP_SCREEN = {"width": 1280, "height": 900}
# 1,000 seats: 25 numbered rows of 40 (rows are never named like a grade), one section, no aisle.
HALL = [(str(row), 40, "VIP" if row <= 3 else "R" if row <= 8 else "S" if row <= 16 else "A") for row in range(1, 26)]
HALL_PRICES = {"VIP": 170_000, "R": 150_000, "S": 120_000, "A": 90_000}
TOUCH = 44  # px, the smallest touch target


def open_seat_map(browser, live_server, show, viewport, fan=None) -> Page:
    """A logged-in fan, admitted to the show's concert, on its seat map."""
    fan = fan or UserFactory()
    client = Client()
    client.force_login(fan)
    admit(client, fan, show.concert_id)
    context = browser.new_context(
        base_url=live_server.url, locale="ko-KR", timezone_id="Asia/Seoul", viewport=viewport, has_touch=True
    )
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"/shows/{show.pk}/seats/")
    return page


def visible_seats(page: Page) -> list[dict]:
    """Every seat shown (not in a hidden section) with its label and box."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#seat-map .seat'))
             .filter((s) => !s.closest('[hidden]'))
             .map((s) => { const r = s.getBoundingClientRect();
                           return {label: s.title.split(' · ')[0], left: r.left, right: r.right,
                                   width: r.width, height: r.height}; })"""
    )


def assert_every_seat_on_screen(page: Page, width: int) -> set[str]:
    """The seats shown are all inside the screen's width, at least 44 px; their labels."""
    seats = visible_seats(page)
    assert seats
    for seat in seats:
        assert seat["left"] >= 0 and seat["right"] <= width, seat
        assert seat["width"] >= TOUCH and seat["height"] >= TOUCH, seat
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    return {seat["label"] for seat in seats}


@pytest.mark.parametrize(
    ("viewport", "caption", "screenshot"),
    [
        # A desktop shows the chosen section with its neighbours, a phone one section.
        (DESKTOP_SCREEN, "VIP, 1–3열, 13–30번", "seat_map_hall_desktop.png"),
        (PHONE_SCREEN, "VIP, 1–3열, 19–24번", "seat_map_hall_phone.png"),
    ],
)
def test_every_seat_of_the_1000_seat_hall_is_reachable_on_screen(
    browser, live_server, clock, viewport, caption, screenshot
):
    show = make_show(rows=HALL, prices=HALL_PRICES)
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "1-20", "1-21"))
    page = open_seat_map(browser, live_server, show, viewport)

    overview = page.get_by_test_id("seat-overview")
    expect(overview).to_be_visible()
    sections = overview.get_by_test_id("overview-section")
    expect(sections).to_have_count(4 * 7)  # 4 grades x 7 blocks of at most 6 seats
    # It opens on the front section nearest the middle; the sections say their grade in words.
    expect(page.get_by_test_id("section-caption")).to_have_text(caption)
    expect(sections.nth(3)).to_have_attribute("aria-pressed", "true")
    expect(sections.nth(3)).to_contain_text("VIP")
    expect(sections.nth(3)).to_contain_text("16")  # 18 seats, 2 held by someone else
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    # As the fan sees it: the seats of the section on screen, the bar at the bottom.
    page.locator("#seat-map .seat-row:not([hidden])").last.scroll_into_view_if_needed()
    page.mouse.wheel(0, 200)
    page.screenshot(path=str(ARTIFACTS / screenshot.replace(".png", "_seats.png")))

    seen: set[str] = set()
    for index in range(sections.count()):
        sections.nth(index).click()
        expect(sections.nth(index)).to_have_attribute("aria-pressed", "true")
        seen |= assert_every_seat_on_screen(page, viewport["width"])
    assert len(seen) == 1000

    # The chosen seats, their total and the hold button stay on screen at the bottom.
    sections.nth(27).click()
    page.locator("#seat-map .seat-row:not([hidden])").last.scroll_into_view_if_needed()
    page.locator("#seat-map .seat:not(.taken):visible").last.click()
    expect(page.locator("#selection")).to_contain_text("선택한 좌석: 25-40 · 합계 90,000원")
    page.mouse.wheel(0, -5000)
    hold = page.get_by_test_id("hold-button")
    expect(hold).to_be_in_viewport()
    assert hold.bounding_box()["height"] >= TOUCH


def test_the_keyboard_moves_between_seats_and_across_sections(browser, live_server, clock):
    show = make_show(rows=HALL, prices=HALL_PRICES, seats_per_user=4)
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "1-20"))
    page = open_seat_map(browser, live_server, show, DESKTOP_SCREEN)
    seat_map = page.get_by_test_id("seat-map")
    focused = "document.activeElement.getAttribute('data-label')"

    # One seat in the tab order (roving tabindex): the first free seat of the section shown.
    assert seat_map.locator("input[tabindex='0']").count() == 1
    seat_map.locator("input[tabindex='0']").focus()
    assert page.evaluate(focused) == "1-19"
    page.keyboard.press("ArrowRight")  # 1-20 is taken: skipped
    assert page.evaluate(focused) == "1-21"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == "2-21"
    page.keyboard.press("Space")
    page.keyboard.press("End")
    assert page.evaluate(focused) == "2-40"
    expect(page.get_by_test_id("section-caption")).to_have_text("VIP, 1–3열, 25–40번")
    page.keyboard.press("Enter")  # toggles, does not send the form
    expect(page.locator("#selection")).to_have_text("선택한 좌석: 2-21, 2-40 · 합계 340,000원")
    assert seat_map.locator("input[tabindex='0']").count() == 1
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # into the R zone
    assert page.evaluate(focused) == "4-40"
    expect(page.get_by_test_id("section-caption")).to_have_text("R, 4–8열, 25–40번")
    for _ in range(16):  # across the aisles, out of the sections shown
        page.keyboard.press("ArrowLeft")
    assert page.evaluate(focused) == "4-24"
    expect(page.get_by_test_id("section-caption")).to_have_text("R, 4–8열, 13–30번")
    expect(page).to_have_url(re.compile(rf"/shows/{show.pk}/seats/$"))  # nothing was sent


def test_a_small_hall_shows_every_seat_of_a_12_seat_row_on_a_phone(browser, live_server, clock):
    show = make_show(rows=[("B", 12, "VIP"), ("C", 12, "R"), ("D", 12, "S"), ("E", 12, "A")], prices=HALL_PRICES)
    page = open_seat_map(browser, live_server, show, PHONE_SCREEN)
    expect(page.get_by_test_id("seat-map")).to_be_visible()
    assert page.locator("#seat-overview").count() == 0
    assert len(assert_every_seat_on_screen(page, PHONE_SCREEN["width"])) == 48
    # Grades differ by pattern as well as colour (the A grade is plain).
    patterns = page.evaluate(
        """() => ['VIP', 'R', 'S', 'A'].map((g) =>
             getComputedStyle(document.querySelector('#seat-map .seat.grade-' + g)).backgroundImage)"""
    )
    assert len(set(patterns)) == 4 and patterns[3] == "none"


def test_seats_taken_by_others_grey_out_without_a_reload_and_come_back_when_freed(
    browser, live_server, clock, settings
):
    settings.SEAT_MAP_POLL_SECONDS = 0.5
    show = make_show(seats_per_user=4)
    (a1,) = seats_of(show, "B-1")
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=[a1])
    page = open_seat_map(browser, live_server, show, PHONE_SCREEN)
    seat_map = page.get_by_test_id("seat-map")
    b1, b2, b3 = seats_of(show, "C-1", "C-2", "C-3")
    seat_map.locator(f"input[value='{b1}']").check()
    seat_map.locator(f"input[value='{b2}']").check()
    expect(page.locator("#selection")).to_have_text("선택한 좌석: C-1, C-2 · 합계 200,000원")
    page.evaluate("window.__sameDocument = true")

    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=[b2, b3])

    expect(seat_map.locator(f"input[value='{b3}']")).to_be_disabled(timeout=5_000)
    expect(seat_map.locator(f"input[value='{b2}']")).to_be_disabled()
    expect(seat_map.locator(f"input[value='{b2}']")).not_to_be_checked()
    expect(page.get_by_test_id("seat-updates")).to_have_text(
        "죄송합니다. 방금 다른 분이 C-2 좌석을 잡아 선택에서 뺐습니다."
    )
    expect(page.locator("#selection")).to_have_text("선택한 좌석: C-1 · 합계 100,000원")
    expect(page.locator(".legend")).to_contain_text("(8석 남음)")
    expect(seat_map.locator(f"input[value='{a1}']")).to_have_count(0)  # taken when the page was drawn

    # The other fans' holds run out: their seats can be chosen again, still without a reload.
    clock.advance(timedelta(minutes=show.concert.hold_minutes, seconds=1))
    expect(seat_map.locator(f"input[value='{b2}']")).to_be_enabled(timeout=5_000)
    expect(seat_map.locator(f"input[value='{a1}']")).to_be_enabled()
    expect(page.locator(".legend")).to_contain_text("(10석 남음)")
    seat_map.locator(f"input[value='{a1}']").check()
    expect(page.locator("#selection")).to_have_text("선택한 좌석: B-1, C-1 · 합계 250,000원")
    assert page.evaluate("window.__sameDocument") is True  # no reload
    page.get_by_test_id("hold-button").click()
    expect(page).to_have_url(re.compile(r"/reservations/\d+/pay/$"))


def test_best_available_holds_seats_together_from_a_phone(browser, live_server, clock):
    show = make_show(rows=HALL, prices=HALL_PRICES)
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "4-20", "4-21"))
    fan = UserFactory()
    page = open_seat_map(browser, live_server, show, PHONE_SCREEN, fan=fan)
    page.get_by_test_id("best-available").locator("summary").click()
    page.get_by_label("등급").select_option("R")
    page.get_by_label("나란히 앉을 좌석 수").fill("2")
    page.get_by_test_id("best-button").click()
    expect(page).to_have_url(re.compile(r"/reservations/\d+/pay/$"))
    reservation = Reservation.objects.get(user=fan)
    assert sorted(seat.show_seat.label for seat in reservation.seats.select_related("show_seat")) == ["4-18", "4-19"]

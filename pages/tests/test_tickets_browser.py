"""My tickets (QR codes) on a desktop and a phone, and a door checking one of them in, in real
headless Chromium. Screenshots go to artifacts/."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD, DEFAULT_PIN, UserFactory
from concerts.services import organizer_group_sync
from pages.tests.browser import ARTIFACTS, DESKTOP_SCREEN, PHONE_SCREEN
from reservations.models import ReservationSeat
from reservations.services import reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(tab: Page, phone: str, path: str) -> None:
    tab.goto(path)
    tab.locator("input[name=username], input[name=phone]").first.fill(phone)
    tab.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    tab.locator("input[name=password]").press("Enter")


def _nothing_sticks_out(tab: Page, width: int) -> None:
    assert tab.evaluate("document.documentElement.scrollWidth") <= width
    overflowing = tab.evaluate(
        "[...document.querySelectorAll('[data-testid=confirmed-reservation]')]"
        ".filter(card => card.scrollWidth > card.clientWidth + 1).length"
    )
    assert overflowing == 0
    # A seat label, a price or a status never breaks over lines (Korean wrapped letter by letter).
    wrapped = tab.evaluate(
        """[...document.querySelectorAll('[data-testid=confirmed-reservation] :is(th, td, button, a)')]
        .filter(el => el.textContent.trim().length <= 10 && el.textContent.trim().length > 1)
        .filter(el => {
          const range = document.createRange();
          range.selectNodeContents(el);
          return new Set([...range.getClientRects()].map(rect => Math.round(rect.bottom))).size > 1;
        }).map(el => el.textContent.trim())"""
    )
    assert wrapped == []


def test_tickets_fit_desktop_and_phone_and_a_door_checks_one_in(page: Page):  # noqa: F811
    show = make_show(starts_in=timedelta(days=10))
    show.concert.title = "스파르타 여름 콘서트 앙코르 공연"
    show.concert.save(update_fields=["title"])
    fan = fan_with_points(1_000_000, name="김티켓")
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2", "C-3"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    _log_in(page, fan.phone, "/login/?next=/me/tickets/")
    expect(page).to_have_url(re.compile(r"/me/tickets/$"))
    for name, screen in (("desktop", DESKTOP_SCREEN), ("phone", PHONE_SCREEN)):
        page.set_viewport_size(screen)
        expect(page.get_by_test_id("ticket-qr")).to_have_count(3)
        expect(page.get_by_test_id("booking-number")).to_have_text(reservation.booking_number)
        _nothing_sticks_out(page, screen["width"])
        page.screenshot(path=str(ARTIFACTS / f"tickets_{name}.png"), full_page=True)
    code = page.locator(".ticket-code").first.inner_text()

    door = UserFactory(is_staff=True, name="입구 1")
    door.groups.add(organizer_group_sync())
    page.context.clear_cookies()
    page.set_viewport_size(DESKTOP_SCREEN)
    _log_in(page, door.phone, f"/admin/login/?next=/door/shows/{show.pk}/")
    expect(page.get_by_test_id("door-counts")).to_contain_text("3매 중 0매")
    page.get_by_label(re.compile("티켓 코드")).fill(code)
    page.get_by_label(re.compile("티켓 코드")).press("Enter")
    expect(page.get_by_test_id("door-result")).to_have_attribute("data-outcome", "ADMITTED")
    expect(page.get_by_test_id("door-result")).to_contain_text("B-1")
    page.screenshot(path=str(ARTIFACTS / "door_admitted.png"), full_page=True)
    page.get_by_label(re.compile("티켓 코드")).fill(code)
    page.get_by_label(re.compile("티켓 코드")).press("Enter")
    expect(page.get_by_test_id("door-result")).to_have_attribute("data-outcome", "ALREADY_USED")
    expect(page.get_by_test_id("door-counts")).to_contain_text("3매 중 1매")
    page.screenshot(path=str(ARTIFACTS / "door_already_used.png"), full_page=True)
    assert ReservationSeat.objects.filter(checked_in_at__isnull=False).count() == 1

"""The main fan pages in real headless Chromium (issue #15): axe-core finds no serious or critical
accessibility violation on any of them, at phone width (390 x 844) and on a desktop; on the phone
the header is one row (brand, menu, balance), nothing scrolls sideways and the seat page's hold
button stays on screen; and the items of the issue seen by a fan: the PIN asked twice at sign-up,
My account setting a new PIN, the wallet saying letters are not an amount, the session-ended page
giving its one reason.

axe-core is vendored for the tests only (pages/tests/vendor/, never served) and evaluated in the
page through the DevTools protocol, so the pages' Content-Security-Policy stays as strict as for
fans (the `page` fixture fails the test on anything it blocks).
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, DEFAULT_PIN, UserFactory
from pages.tests.browser import ARTIFACTS, DESKTOP_SCREEN, PHONE_SCREEN
from queueing.services import queue_enter, queue_leave, queue_promote
from reservations.tests.factories import fan_with_points, make_show

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
SERIOUS = ("serious", "critical")


def assert_accessible(tab: Page, name: str) -> None:
    """axe-core's serious and critical violations of the page as it stands, at both widths."""
    if not tab.evaluate("typeof window.axe !== 'undefined'"):
        tab.evaluate(AXE_SOURCE)
    found = {}
    for label, screen in (("phone", PHONE_SCREEN), ("desktop", DESKTOP_SCREEN)):
        tab.set_viewport_size(screen)
        violations = tab.evaluate(
            """async (serious) => {
                const result = await axe.run(document, {resultTypes: ['violations']});
                return result.violations.filter(v => serious.includes(v.impact)).map(v => ({
                    rule: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary),
                }));
            }""",
            list(SERIOUS),
        )
        if violations:
            found[label] = violations
    tab.set_viewport_size(PHONE_SCREEN)
    assert found == {}, f"{name}: axe-core reports serious or critical violations: {found}"


def assert_phone_layout(tab: Page, name: str) -> None:
    """390 px: nothing sticks out sideways; the header is one row of brand, menu (and balance)."""
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"], name
    header = tab.locator(".site-header .header-row")
    parts = [tab.locator(".site-header .brand"), tab.get_by_test_id("header-menu").locator("summary")]
    if tab.get_by_test_id("header-balance").count():
        parts.append(tab.get_by_test_id("header-balance"))
    row = header.bounding_box()
    assert row["height"] < 70, f"{name}: the header takes {row['height']} px"
    for part in parts:
        box = part.bounding_box()
        assert box is not None and box["y"] >= row["y"] and box["y"] + box["height"] <= row["y"] + row["height"] + 1
        assert box["x"] + box["width"] <= PHONE_SCREEN["width"], name
    tab.screenshot(path=str(ARTIFACTS / f"phone_{name}.png"), full_page=True)


def check(tab: Page, name: str) -> None:
    # A URL assertion passes as soon as the new page's address shows, maybe before its stylesheet
    # applies (a busy machine: the unstyled header once measured 136 px); measure the page loaded.
    tab.wait_for_load_state("load")
    assert_phone_layout(tab, name)
    assert_accessible(tab, name)


def test_the_main_pages_are_accessible_and_fit_a_phone(page: Page):  # noqa: F811
    show = make_show(queue_active_size=1)
    concert = show.concert
    first_fan = UserFactory()
    first = queue_enter(user_id=first_fan.pk, concert_id=concert.pk)

    # Anonymous: the concerts, sign-up (the PIN asked twice) and log-in.
    page.goto("/")
    check(page, "concert_list")
    page.goto(f"/concerts/{concert.pk}/")
    check(page, "concert_detail_anonymous")
    page.goto("/signup/")
    page.get_by_label("이름", exact=True).fill("최새팬")
    page.get_by_label("휴대폰 번호", exact=True).fill("010-7777-4321")
    page.get_by_label("비밀번호", exact=True).fill("a-long-password-42")
    page.get_by_label("결제 비밀번호 (숫자 6자리)").fill("246810")
    page.get_by_label("결제 비밀번호 확인").fill("246801")
    page.get_by_role("button", name="가입하기").click()
    expect(page.locator(".field-error")).to_contain_text("두 결제 비밀번호가 다릅니다.")
    assert not User.objects.filter(phone="010-7777-4321").exists()
    check(page, "signup_error")
    page.goto("/login/")
    check(page, "login")

    fan = fan_with_points(500_000, name="김접근")
    page.get_by_label("휴대폰 번호", exact=True).fill(fan.phone)
    page.get_by_label("비밀번호", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="로그인").click()
    expect(page.get_by_test_id("header-balance")).to_contain_text("500,000원")
    check(page, "concert_list_logged_in")

    # The menu holds the links and the account on a phone.
    page.get_by_test_id("header-menu").locator("summary").click()
    menu = page.get_by_test_id("header-menu").locator(".menu-panel")
    expect(menu.get_by_role("link", name="내 티켓")).to_be_visible()
    expect(menu.get_by_role("button", name="로그아웃")).to_be_visible()
    assert_accessible(page, "menu_open")
    menu.get_by_role("link", name="내 계정").click()
    expect(page).to_have_url(re.compile(r"/me/account/$"))
    check(page, "account")

    # Wallet: letters are not an amount (the input keeps them), and the page says so.
    page.goto("/wallet/")
    page.locator("#id_charge-amount").fill("1만원")
    page.get_by_role("button", name="충전하기").click()
    expect(page.locator(".field-error")).to_contain_text("금액을 원 단위 숫자로 입력하세요")
    check(page, "wallet")

    # The waiting room, behind the first fan.
    page.goto(f"/concerts/{concert.pk}/")
    check(page, "concert_detail")
    page.get_by_test_id("book-show").click()
    expect(page.get_by_test_id("queue-position")).to_have_text("1")
    check(page, "waiting_room")

    # Admitted: the seat map; the hold button stays on screen wherever the fan scrolls.
    queue_leave(user_id=first_fan.pk, token=first.token)
    queue_promote(concert_id=concert.pk)
    page.wait_for_url(re.compile(rf"/shows/{show.pk}/seats/$"), timeout=15_000)
    seat_map = page.get_by_test_id("seat-map")
    seat_map.locator(".seat:not(.taken) input").first.check()
    for where in ("window.scrollTo(0, 0)", "window.scrollTo(0, document.body.scrollHeight)"):
        page.evaluate(where)
        box = page.get_by_test_id("hold-button").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE_SCREEN["height"], where
    check(page, "seat_map")

    # Payment, then tickets.
    page.get_by_test_id("hold-button").click()
    expect(page).to_have_url(re.compile(r"/reservations/\d+/pay/$"))
    check(page, "payment")
    page.get_by_label("결제 비밀번호", exact=True).fill(DEFAULT_PIN)
    page.get_by_test_id("pay-button").click()
    expect(page).to_have_url(re.compile(r"/me/tickets/$"))
    check(page, "tickets")

    # Paying ended the turn: the session-ended page says that, and only that.
    page.goto(f"/concerts/{concert.pk}/queue/")
    expect(page.get_by_test_id("queue-expired")).to_have_attribute("data-reason", "paid")
    expect(page.get_by_test_id("end-reason")).to_have_count(1)
    expect(page.get_by_test_id("end-reason")).to_contain_text("결제를 마쳐서")
    check(page, "session_ended")

    # My account: a new PIN with the password.
    page.goto("/me/account/")
    pin_form = page.get_by_test_id("pin-form")
    pin_form.get_by_label("로그인 비밀번호").fill(DEFAULT_PASSWORD)
    pin_form.get_by_label("새 결제 비밀번호 (숫자 6자리)").fill("480317")
    pin_form.get_by_label("새 결제 비밀번호 확인").fill("480317")
    pin_form.get_by_role("button", name="새 결제 비밀번호 저장").click()
    expect(page.locator(".messages")).to_contain_text("새 결제 비밀번호를 정했습니다.")
    assert User.objects.get(pk=fan.pk).check_pin("480317")
    check(page, "account_pin_changed")

"""The whole fan journey in real headless Chromium against a live server, the real PostgreSQL and
Redis. Promotion is run by the test itself (the queue's promote service) instead of beat.

Needs the Debian `chromium` package (scripts/test installs it) and Python playwright; playwright's
own browser download is not used.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.tests.factories import UserFactory
from concerts.models import ShowSeat, ShowSeatStatus
from pages.tests.browser import ARTIFACTS, assert_fits_the_phone
from points.selectors import wallet_balance
from queueing.selectors import QueueTokenStatus
from queueing.services import queue_enter, queue_leave, queue_promote
from reservations.models import Reservation, ReservationStatus
from reservations.tests.factories import make_show, seats_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.security
def test_the_api_docs_work_under_the_content_security_policy(page: Page):
    """Swagger UI (drf-spectacular) runs with the strict policy: its script and style are files."""
    response = page.goto("/api/docs/")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Stagegate API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()


def test_a_new_fan_books_pays_and_refunds_through_the_waiting_room(page: Page):
    show = make_show(queue_active_size=1)  # A: 10 VIP at 150,000; B: 10 R at 100,000
    concert = show.concert
    first_fan = UserFactory()
    first = queue_enter(user_id=first_fan.pk, concert_id=concert.pk)
    assert first.status is QueueTokenStatus.ACTIVE  # the only place is taken

    # Sign up.
    page.goto("/signup/")
    page.get_by_label("이름", exact=True).fill("박새팬")
    page.get_by_label("휴대폰 번호", exact=True).fill("010-7777-1234")
    page.get_by_label("비밀번호", exact=True).fill("a-long-password-42")
    page.get_by_label("결제 비밀번호 (숫자 6자리)").fill("246810")
    page.get_by_label("결제 비밀번호 확인").fill("246810")
    page.get_by_role("button", name="가입하기").click()
    expect(page).to_have_url(re.compile(r"/wallet/$"))
    expect(page.locator(".messages")).to_contain_text("박새팬님, 환영합니다!")
    expect(page.get_by_test_id("header-user")).to_have_text("박새팬")
    expect(page.get_by_test_id("header-balance")).to_contain_text("0원")
    fan = User.objects.get(phone="010-7777-1234")

    # Charge 200,000 points.
    expect(page.get_by_test_id("charge-limits")).to_contain_text("1,000원 ~ 1,000,000원")
    page.locator("#id_charge-amount").fill("200000")
    page.get_by_role("button", name="충전하기").click()
    expect(page.locator(".messages")).to_contain_text("200,000원을 충전했습니다. 남은 포인트는 200,000원입니다.")
    expect(page.get_by_test_id("header-balance")).to_contain_text("200,000원")
    expect(page.get_by_test_id("ledger-row")).to_have_count(1)
    assert wallet_balance(user=fan) == 200_000

    # The concert page; enter the waiting room for the show, behind the first fan.
    page.goto(f"/concerts/{concert.pk}/")
    expect(page.get_by_test_id("show-row")).to_contain_text("예매 가능")
    expect(page.get_by_test_id("show-row")).to_contain_text("20 / 20")
    page.get_by_test_id("book-show").click()
    # The page became the waiting room (static/js/enter.js): its address is the waiting page's,
    # with the place's token, so that a reload finds the place.
    expect(page).to_have_url(re.compile(rf"/concerts/{concert.pk}/queue/\?token=[^&]+&show={show.pk}$"))
    expect(page.get_by_test_id("queue-position")).to_have_text("1")
    expect(page.get_by_test_id("queue-ahead")).to_have_text("0")
    expect(page.get_by_test_id("queue-wait")).not_to_be_empty()
    assert_fits_the_phone(page)
    page.screenshot(path=str(ARTIFACTS / "waiting_room.png"), full_page=True)

    # The first fan leaves; a promotion runs; the page moves on to the seat map by itself.
    queue_leave(user_id=first_fan.pk, token=first.token)
    queue_promote(concert_id=concert.pk)
    page.wait_for_url(re.compile(rf"/shows/{show.pk}/seats/$"), timeout=15_000)
    seat_map = page.get_by_test_id("seat-map")
    expect(seat_map).to_be_visible()
    expect(page.get_by_test_id("session-countdown")).to_be_visible()
    expect(page.get_by_test_id("session-countdown")).to_contain_text(re.compile(r"\d+:\d\d"))
    expect(page.locator(".legend")).to_contain_text("R 100,000원")
    expect(seat_map.locator("input[name=seat_ids]")).to_have_count(20)
    assert_fits_the_phone(page)
    page.screenshot(path=str(ARTIFACTS / "seat_map.png"), full_page=True)

    # Choose C-1 with the mouse and C-2 with the keyboard, and hold them.
    b1, b2 = seats_of(show, "C-1", "C-2")
    seat_map.locator(f"input[value='{b1}']").check()
    seat_map.locator(f"input[value='{b2}']").focus()
    page.keyboard.press("Space")
    expect(page.locator("#selection")).to_have_text("선택한 좌석: C-1, C-2 · 합계 200,000원")
    page.get_by_test_id("hold-button").click()
    expect(page).to_have_url(re.compile(r"/reservations/\d+/pay/$"))
    expect(page.get_by_test_id("held-seat")).to_have_count(2)
    expect(page.get_by_test_id("total")).to_have_text("200,000원")
    expect(page.get_by_test_id("balance")).to_have_text("200,000원")
    expect(page.get_by_test_id("hold-countdown")).to_contain_text(re.compile(r"[45]:\d\d"))
    reservation = Reservation.objects.get(user=fan)
    assert reservation.status == ReservationStatus.HELD

    # A wrong PIN first: the page says how many attempts are left.
    page.get_by_label("결제 비밀번호", exact=True).fill("000000")
    page.get_by_test_id("pay-button").click()
    expect(page.get_by_test_id("pay-error")).to_contain_text("결제 비밀번호가 틀렸습니다.")
    expect(page.get_by_test_id("pay-error")).to_contain_text("4번 더 시도할 수 있습니다")

    # The right PIN, submitted with the Enter key: paid, on to my tickets.
    page.get_by_label("결제 비밀번호", exact=True).fill("246810")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/me/tickets/$"))
    expect(page.locator(".messages")).to_contain_text("200,000원 결제를 완료했습니다. 남은 포인트는 0원입니다.")
    expect(page.get_by_test_id("ticket")).to_have_count(2)
    expect(page.get_by_test_id("confirmed-reservation")).to_contain_text("까지 환불할 수 있습니다.")
    expect(page.get_by_test_id("header-balance")).to_contain_text("0원")

    # Refund one of the two seats.
    page.get_by_test_id("ticket").filter(has_text="C-1").get_by_role("link", name=re.compile("이 좌석 환불")).click()
    expect(page.get_by_test_id("refund-preview")).to_contain_text("C-1")
    expect(page.get_by_test_id("refund-amount")).to_contain_text("100,000원")
    page.screenshot(path=str(ARTIFACTS / "refund_confirm.png"), full_page=True)
    assert wallet_balance(user=fan) == 0  # nothing happens before the fan confirms
    page.get_by_test_id("refund-confirm").click()
    expect(page.locator(".messages")).to_contain_text(
        "100,000원을 포인트로 환불했습니다. 남은 포인트는 100,000원입니다."
    )
    expect(page.get_by_test_id("ticket").filter(has_text="C-1")).to_contain_text("환불됨")
    expect(page.get_by_test_id("ticket").filter(has_text="C-2")).to_contain_text("유효")
    expect(page.get_by_test_id("header-balance")).to_contain_text("100,000원")

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED
    assert wallet_balance(user=fan) == 100_000
    assert ShowSeat.objects.get(pk=b1).status == ShowSeatStatus.AVAILABLE
    assert ShowSeat.objects.get(pk=b2).status == ShowSeatStatus.SOLD
    assert (ARTIFACTS / "waiting_room.png").stat().st_size > 0
    assert (ARTIFACTS / "seat_map.png").stat().st_size > 0

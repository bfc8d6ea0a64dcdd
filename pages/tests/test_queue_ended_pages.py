"""The "session ended" page says the one reason the fan's place ended, and what to do next
(issue #15, item 10): from what PostgreSQL knows (the reservation of the concert that ended last
since the fan entered) and what the pages saw (admitted or not)."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from pages.tests.helpers import text_of
from queueing.services import queue_enter, queue_promote
from reservations.exceptions import PaymentAttemptsExceeded, WrongPin
from reservations.services import reservation_expire_due, reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db

REASONS = {
    "paid": "결제를 마쳐서 예매 차례가 끝나고",
    "hold_expired": "결제하기 전에 좌석 선점 시간이 끝나",
    "payment_failed": "결제 비밀번호가 여러 번 틀려",
    "session_timed_out": "좌석을 고르지 않은 채 예매 시간 20분이 지났습니다.",
    "away_too_long": "대기실을 5분 넘게 떠나 있어서",
}


@pytest.fixture
def fan(client):
    user = fan_with_points(1_000_000, name="이팬")
    client.force_login(user)
    return user


def _enter(client, concert) -> None:
    """Enter through the page, as a fan does (the page records when the visit began)."""
    assert client.post(reverse("pages:waiting-room", args=[concert.pk])).status_code == 302


def _ended_page(client, concert) -> tuple[str, str]:
    response = client.get(reverse("pages:waiting-room", args=[concert.pk]))
    assert response.status_code == 410
    page = text_of(response)
    shown = [reason for reason, words in REASONS.items() if words in page]
    return page, shown


def test_after_paying_the_page_says_so_and_links_the_tickets(client, fan, clock):
    show = make_show()
    _enter(client, show.concert)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)

    page, shown = _ended_page(client, show.concert)

    assert shown == ["paid"]
    assert 'data-reason="paid"' in page and reverse("pages:tickets") in page


def test_a_hold_that_ran_out_unpaid_is_the_reason(client, fan, clock):
    show = make_show(hold_minutes=5)
    _enter(client, show.concert)
    reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    clock.advance(timedelta(minutes=6))
    reservation_expire_due()

    _, shown = _ended_page(client, show.concert)

    assert shown == ["hold_expired"]


def test_a_hold_released_after_failed_payments_is_the_reason(client, fan, clock):
    show = make_show(max_payment_attempts=2)
    _enter(client, show.concert)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    with pytest.raises(WrongPin):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin="000000")
    with pytest.raises(PaymentAttemptsExceeded):
        reservation_pay(user=fan, reservation_id=reservation.pk, pin="000000")

    _, shown = _ended_page(client, show.concert)

    assert shown == ["payment_failed"]


def test_an_admitted_fan_whose_booking_time_ran_out_is_told_that(client, fan, clock):
    show = make_show(session_minutes=20)
    _enter(client, show.concert)
    assert client.get(reverse("pages:seat-map", args=[show.pk])).status_code == 200  # admitted, seen by a page
    clock.advance(timedelta(minutes=21))
    queue_promote(concert_id=show.concert.pk)

    _, shown = _ended_page(client, show.concert)

    assert shown == ["session_timed_out"]


def test_a_waiting_fan_away_too_long_is_told_that_not_an_old_payment(client, fan, clock):
    show = make_show(queue_active_size=1, abandon_after_minutes=5)
    # A ticket paid in an earlier visit of the same concert is not why this visit ended.
    queue_enter(user_id=fan.pk, concert_id=show.concert.pk)
    earlier = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    reservation_pay(user=fan, reservation_id=earlier.pk, pin=DEFAULT_PIN)
    queue_enter(user_id=UserFactory().pk, concert_id=show.concert.pk)  # takes the only place
    clock.advance(timedelta(seconds=1))
    _enter(client, show.concert)  # waits behind
    clock.advance(timedelta(minutes=6))
    queue_promote(concert_id=show.concert.pk)

    page, shown = _ended_page(client, show.concert)

    assert shown == ["away_too_long"]
    assert "다시 입장하기" in page

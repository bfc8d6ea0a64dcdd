"""The payment page and my tickets, with every refusal explained."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from concerts.models import ShowSeat, ShowSeatStatus
from pages.tests.helpers import admit, text_of
from points.selectors import wallet_balance
from points.services import wallet_charge
from queueing.tests.helpers import redis_restart
from reservations.models import Reservation, ReservationStatus
from reservations.services import reservation_hold, reservation_pay
from reservations.tests.factories import make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def fan(client):
    user = UserFactory()
    client.force_login(user)
    return user


@pytest.fixture
def held(client, fan, clock):
    """The fan, admitted, holding C-1 and C-2 (100,000 each) with 300,000 points."""
    show = make_show()
    wallet_charge(user=fan, amount=300_000)
    admit(client, fan, show.concert_id)
    return reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "C-1", "C-2"))


def _pay(client, reservation, pin):
    return client.post(reverse("pages:payment", args=[reservation.pk]), {"pin": pin})


def test_payment_page_shows_the_seats_total_balance_and_hold_countdown(client, held):
    page = text_of(client.get(reverse("pages:payment", args=[held.pk])))

    assert page.count('data-testid="held-seat"') == 2 and "C-1" in page and "C-2" in page
    assert re.search(r'data-testid="total"><strong>200,000원<', page)
    assert 'data-testid="balance">300,000원<' in page
    assert re.search(r'data-countdown="(29\d|300)"', page)  # 5 minutes of hold, frozen clock


def test_paying_confirms_and_shows_the_tickets(client, fan, held):
    response = client.post(reverse("pages:payment", args=[held.pk]), {"pin": DEFAULT_PIN}, follow=True)

    page = text_of(response)
    assert response.redirect_chain[-1][0] == reverse("pages:tickets")
    assert "200,000원 결제를 완료했습니다. 남은 포인트는 100,000원입니다." in page
    assert page.count('data-testid="ticket"') == 2
    assert Reservation.objects.get(pk=held.pk).status == ReservationStatus.CONFIRMED


def test_a_wrong_pin_says_how_many_attempts_are_left(client, held):
    response = _pay(client, held, "000000")

    assert response.status_code == 422
    page = text_of(response)
    assert "결제 비밀번호가 틀렸습니다." in page
    assert "좌석이 해제되기 전까지 4번 더 시도할 수 있습니다." in page
    assert Reservation.objects.get(pk=held.pk).status == ReservationStatus.HELD


def test_the_fifth_failure_releases_the_seats_and_explains_what_next(client, fan, held):
    for _ in range(4):
        assert _pay(client, held, "000000").status_code == 422

    response = _pay(client, held, "000000")

    assert response.status_code == 422
    page = text_of(response)
    assert 'data-testid="pay-released"' in page
    assert "결제에 여러 번 실패하여 좌석이 해제되었고 대기열 차례도 끝났습니다." in page
    assert reverse("pages:concert-detail", args=[held.show.concert_id]) in page
    assert Reservation.objects.get(pk=held.pk).status == ReservationStatus.RELEASED
    assert set(ShowSeat.objects.filter(pk__in=seats_of(held.show, "C-1", "C-2")).values_list("status", flat=True)) == {
        ShowSeatStatus.AVAILABLE
    }
    # Coming back later shows the same explanation, not a form.
    again = text_of(client.get(reverse("pages:payment", args=[held.pk])))
    assert 'data-testid="pay-released"' in again and "pin" not in re.findall(r'name="(\w+)"', again)


def test_an_expired_hold_explains_that_nothing_was_charged(client, fan, held, clock):
    clock.advance(timedelta(minutes=held.show.concert.hold_minutes, seconds=1))

    page = text_of(client.get(reverse("pages:payment", args=[held.pk])))
    assert 'data-testid="pay-expired"' in page and "결제된 금액은 없습니다." in page

    response = _pay(client, held, DEFAULT_PIN)
    assert response.status_code == 410  # a form submitted just too late
    assert Reservation.objects.get(pk=held.pk).status in (ReservationStatus.HELD, ReservationStatus.EXPIRED)
    assert wallet_balance(user=fan) == 300_000


def test_too_little_balance_links_to_charging_and_back(client, fan, clock):
    show = make_show()
    wallet_charge(user=fan, amount=50_000)
    admit(client, fan, show.concert_id)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    response = _pay(client, reservation, DEFAULT_PIN)

    assert response.status_code == 402
    page = text_of(response)
    assert "보유 포인트(50,000원)가 결제 금액(150,000원)보다 적습니다." in page
    assert "100,000원 이상 충전한 뒤 돌아와서 결제하세요." in page
    assert "결제 시도 횟수는 줄지 않았습니다." in page and "번 남았습니다" not in page
    pay_url = reverse("pages:payment", args=[reservation.pk])
    assert f'href="/wallet/?next={pay_url.replace("/", "%2F")}"' in page
    assert Reservation.objects.get(pk=reservation.pk).status == ReservationStatus.HELD


def test_another_fans_reservation_is_a_404(client, held):
    other = UserFactory()
    client.force_login(other)
    assert client.get(reverse("pages:payment", args=[held.pk])).status_code == 404


def test_the_payment_page_is_never_cached_so_back_after_paying_asks_the_server(client, held):
    """The browser's Back must not show a live-looking form with a ticking timer after paying:
    it reloads the page, which then redirects to the tickets (below)."""
    response = client.get(reverse("pages:payment", args=[held.pk]))

    assert "no-store" in response["Cache-Control"]


def test_a_paid_reservation_redirects_to_the_tickets(client, fan, held):
    reservation_pay(user=fan, reservation_id=held.pk, pin=DEFAULT_PIN)
    response = client.get(reverse("pages:payment", args=[held.pk]))
    assert response["Location"] == reverse("pages:tickets")


@pytest.fixture
def paid(client, fan, held):
    reservation_pay(user=fan, reservation_id=held.pk, pin=DEFAULT_PIN)
    return held


def test_tickets_show_the_refund_deadline_and_refund_one_seat(client, fan, paid):
    page = text_of(client.get(reverse("pages:tickets")))
    assert page.count('data-testid="ticket"') == 2
    assert "까지 환불할 수 있습니다." in page
    seat_id = seats_of(paid.show, "C-2")[0]

    response = client.post(reverse("pages:ticket-refund", args=[paid.pk]), {"seat_id": seat_id}, follow=True)

    page = text_of(response)
    assert "100,000원을 포인트로 환불했습니다. 남은 포인트는 200,000원입니다." in page
    assert wallet_balance(user=fan) == 200_000
    assert ShowSeat.objects.get(pk=seat_id).status == ShowSeatStatus.AVAILABLE
    assert Reservation.objects.get(pk=paid.pk).status == ReservationStatus.CONFIRMED


def test_a_refund_is_confirmed_first_with_its_amount_and_deadline(client, fan, paid):
    seat_id = seats_of(paid.show, "C-2")[0]

    one = text_of(client.get(reverse("pages:ticket-refund", args=[paid.pk]), {"seat_id": seat_id}))
    every = text_of(client.get(reverse("pages:ticket-refund", args=[paid.pk])))

    table = one.split('data-testid="refund-preview"')[1].split("</table>")[0]
    assert "C-2" in table and "C-1" not in table
    assert "100,000원" in one.split('data-testid="refund-amount"')[1][:80]
    assert "200,000원" in every.split('data-testid="refund-amount"')[1][:80]
    assert "까지 환불할 수 있습니다." in every
    assert f'name="seat_id" value="{seat_id}"' in one and 'name="seat_id"' not in every
    assert wallet_balance(user=fan) == 100_000
    assert Reservation.objects.get(pk=paid.pk).status == ReservationStatus.CONFIRMED


def test_the_refund_confirmation_of_another_fans_reservation_is_404(client, paid):
    client.force_login(UserFactory())
    assert client.get(reverse("pages:ticket-refund", args=[paid.pk])).status_code == 404


def test_refund_all_moves_the_reservation_to_refunded(client, fan, paid):
    response = client.post(reverse("pages:ticket-refund", args=[paid.pk]), follow=True)

    page = text_of(response)
    assert "200,000원을 포인트로 환불했습니다." in page
    assert 'data-testid="refunded-reservation"' in page
    assert Reservation.objects.get(pk=paid.pk).status == ReservationStatus.REFUNDED


def test_refund_after_the_window_closed_is_refused_in_words(client, fan, paid, clock):
    show = paid.show
    clock.freeze(show.starts_at - timedelta(days=show.concert.refund_days_before, seconds=-1))

    page = text_of(client.get(reverse("pages:tickets")))
    assert "환불 기간이" in page and "에 끝났습니다." in page
    assert "전체 환불" not in page

    response = client.post(reverse("pages:ticket-refund", args=[paid.pk]), follow=True)

    assert "이 회차의 환불 기간이 끝나 더 이상 환불할 수 없습니다." in text_of(response)
    assert wallet_balance(user=fan) == 100_000
    assert Reservation.objects.get(pk=paid.pk).status == ReservationStatus.CONFIRMED


def test_tickets_list_expired_holds(client, fan, held, clock):
    clock.advance(timedelta(minutes=held.show.concert.hold_minutes, seconds=1))
    page = text_of(client.get(reverse("pages:tickets")))
    assert 'data-testid="ended-reservation"' in page and "결제 시간 만료" in page


def test_a_live_hold_is_paid_on_its_page_after_a_redis_restart(client, fan, held):
    redis_restart()  # the waiting room forgot the fan; the hold is in PostgreSQL

    page = client.get(reverse("pages:payment", args=[held.pk]))
    assert page.status_code == 200
    response = client.post(reverse("pages:payment", args=[held.pk]), {"pin": DEFAULT_PIN})

    assert response.status_code == 302 and response["Location"] == reverse("pages:tickets")
    assert Reservation.objects.get(pk=held.pk).status == ReservationStatus.CONFIRMED


def test_a_short_balance_is_said_with_the_charge_offered_before_any_attempt(client, fan, clock):
    show = make_show()
    wallet_charge(user=fan, amount=50_000)
    admit(client, fan, show.concert_id)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "C-1"))

    page = text_of(client.get(reverse("pages:payment", args=[reservation.pk])))

    shortfall = page.split('data-testid="shortfall"')[1].split("</div>")[0]
    assert "50,000원" in shortfall and 'data-testid="charge-link"' in shortfall
    button = re.search(r'<button[^>]*data-testid="pay-button"[^>]*>', page).group(0)
    assert "disabled" in button

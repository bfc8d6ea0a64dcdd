"""The concert pages, the waiting room and seat selection, with their error states."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.tests.factories import UserFactory
from concerts.services import show_create
from pages.tests.helpers import admit, text_of
from queueing import selectors, services
from queueing.services import queue_enter, queue_remove
from queueing.session import queue_token_from_session
from reservations.models import Reservation, ReservationStatus
from reservations.services import reservation_hold
from reservations.tests.factories import make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def fan(client):
    user = UserFactory(name="이팬")
    client.force_login(user)
    return user


@pytest.fixture
def show(clock):
    return make_show(seats_per_user=2)


def test_concert_list_and_concert_page_show_venue_window_status_and_remaining_seats(client, show, clock):
    concert = show.concert
    later = show_create(
        concert=concert,
        starts_at=clock.now() + timedelta(days=60),
        booking_opens_at=clock.now() + timedelta(days=10),
        prices={"VIP": 150_000, "R": 100_000},
    )
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    listing = text_of(client.get("/"))
    assert concert.title in listing and concert.venue.name in listing

    page = text_of(client.get(reverse("pages:concert-detail", args=[concert.pk])))
    assert concert.venue.name in page
    rows = re.findall(r'data-testid="show-row">(.*?)</tr>', page, re.S)
    assert len(rows) == 2
    assert "예매 가능" in rows[0] and "19 / 20" in rows[0] and "150,000원" in rows[0]
    assert "예매 오픈" in rows[1] and "20 / 20" in rows[1]
    opens = timezone.localtime(later.booking_opens_at)  # shown in Asia/Seoul
    assert f"{opens:%m-%d %H:%M}" in rows[1]
    assert "로그인하고 예매하기" in page  # anonymous: log in first


def test_the_crowds_pages_read_the_concert_its_shows_and_seats_from_what_the_booking_path_keeps(
    client, fan, show, settings
):
    # In the rush the crowd reloads the concert page and enters through it: with the catalog memo,
    # the kept seat maps and the room's policy fresh, those pages run no SQL on the concert's
    # tables (the fan's session, user and balance remain).
    settings.CATALOG_CACHE_SECONDS = settings.QUEUE_POLICY_CACHE_SECONDS = settings.SEAT_MAP_REBUILD_SECONDS = 60
    concert_page = reverse("pages:concert-detail", args=[show.concert_id])
    waiting_room = reverse("pages:waiting-room", args=[show.concert_id])
    client.get(concert_page)

    statements: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        page = text_of(client.get(concert_page))
        entered = client.post(waiting_room, follow=True)

    assert "20 / 20" in page and entered.status_code == 200
    assert statements and not [sql for sql in statements if '"concerts_' in sql]


def test_concert_page_before_the_sale_invites_to_the_pre_queue(client, fan, clock):
    show = make_show(prequeue_minutes=30)
    show.booking_opens_at = clock.now() + timedelta(minutes=10)
    show.save(update_fields=["booking_opens_at"])

    page = text_of(client.get(reverse("pages:concert-detail", args=[show.concert_id])))

    assert "공정한 무작위 순서" in page
    assert "지금 예매할 수 있는 회차가 없습니다" not in page


def test_before_the_sale_the_page_counts_down_to_the_opening_and_names_the_pre_queue(client, fan, clock):
    show = make_show(prequeue_minutes=30)
    show.booking_opens_at = clock.now() + timedelta(hours=2, minutes=5)
    show.save(update_fields=["booking_opens_at"])
    url = reverse("pages:concert-detail", args=[show.concert_id])

    page = text_of(client.get(url))

    opening = page.split('data-testid="next-opening"')[1].split("</section>")[0]
    opens, prequeue = (
        timezone.localtime(t) for t in (show.booking_opens_at, show.booking_opens_at - timedelta(minutes=30))
    )
    assert f"{opens:%Y-%m-%d}" in opening and f"{opens:%H:%M}에 예매 오픈" in opening
    assert 'data-countdown="7500"' in opening and ">2:05:00<" in opening
    assert f"{prequeue:%H:%M}" in opening and "공정한 무작위 순서" in opening
    assert "예매 오픈" in re.findall(r'data-testid="show-row">(.*?)</tr>', page, re.S)[0]

    clock.advance(timedelta(hours=2, minutes=5))  # open now: no countdown, the show is on sale
    page = text_of(client.get(url))
    assert 'data-testid="next-opening"' not in page and "예매 가능" in page

    clock.advance(timedelta(days=40))  # started long ago: the sale ended
    assert "판매 종료" in text_of(client.get(url))


def test_unknown_concert_is_a_404_page(client):
    response = client.get(reverse("pages:concert-detail", args=[999999]))
    assert response.status_code == 404
    assert "페이지를 찾을 수 없습니다" in text_of(response)


def test_entering_the_waiting_room_behind_someone_shows_the_position(client, fan, clock):
    show = make_show(queue_active_size=1)
    queue_enter(user_id=UserFactory().pk, concert_id=show.concert_id)  # takes the only place

    response = client.post(reverse("pages:waiting-room", args=[show.concert_id]), {"show": show.pk}, follow=True)

    assert response.status_code == 200
    page = text_of(response)
    assert re.search(r'data-testid="queue-position"[^>]*>1<', page)
    assert re.search(r'data-testid="queue-ahead"[^>]*>0<', page)
    assert re.search(r'data-testid="queue-behind"[^>]*>0<', page)
    assert 'data-testid="queue-progress"' in page and 'data-about="약 %s"' in page
    # One admission counted so far: the wait is known from below only.
    assert re.search(r'data-testid="queue-wait"[^>]*>최소 \d+ 초<', page)
    assert f'data-next-url="/shows/{show.pk}/seats/"' in page
    assert queue_token_from_session(session=client.session, concert_id=show.concert_id)


def test_an_admitted_fan_goes_to_the_seats_of_the_chosen_show(client, fan, show):
    response = client.post(reverse("pages:waiting-room", args=[show.concert_id]), {"show": show.pk}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("pages:seat-map", args=[show.pk])
    assert 'data-testid="seat-map"' in text_of(response)


def test_an_admitted_fan_without_a_show_chooses_one(client, fan, show):
    response = client.post(reverse("pages:waiting-room", args=[show.concert_id]), follow=True)

    page = text_of(response)
    assert "입장 차례입니다" in page
    assert reverse("pages:seat-map", args=[show.pk]) in page
    assert 'data-testid="session-countdown"' in page


def test_a_full_waiting_room_gets_its_own_page_and_nobody_is_added(client, fan, clock):
    show = make_show(queue_active_size=1, queue_max_waiting=1)
    queue_enter(user_id=UserFactory().pk, concert_id=show.concert_id)  # admitted
    queue_enter(user_id=UserFactory().pk, concert_id=show.concert_id)  # the one waiting place

    response = client.post(reverse("pages:waiting-room", args=[show.concert_id]))

    assert response.status_code == 503
    assert response["Retry-After"]
    page = text_of(response)
    assert "대기열이 가득 찼습니다" in page and "대기열에 추가되지 않았습니다." in page
    assert queue_token_from_session(session=client.session, concert_id=show.concert_id) is None


def test_entering_too_often_is_rate_limited_with_a_page_that_says_so(client, fan, clock, settings):
    show = make_show()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "queue_enter_user": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    url = reverse("pages:waiting-room", args=[show.concert_id])

    answers = [client.post(url) for _ in range(3)]

    assert [a.status_code for a in answers] == [302, 302, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert "대기열 입장을 너무 자주 시도했습니다" in text_of(answers[-1])


def test_a_closed_sale_gets_its_own_page(client, fan, clock):
    show = make_show(starts_in=timedelta(days=30))
    clock.advance(timedelta(days=31))  # the show has started: nothing is on sale

    response = client.post(reverse("pages:waiting-room", args=[show.concert_id]))

    assert response.status_code == 409
    assert "예매 기간이 아닙니다" in text_of(response)


def test_an_ended_queue_session_gets_its_own_page(client, fan, show):
    admit(client, fan, show.concert_id)
    queue_remove(user_id=fan.pk, concert_id=show.concert_id, reason="test")

    response = client.get(reverse("pages:waiting-room", args=[show.concert_id]))

    assert response.status_code == 410
    page = text_of(response)
    assert "대기 세션이 끝났습니다" in page and "다시 입장하기" in page


def test_the_waiting_room_without_a_token_offers_to_enter(client, fan, show):
    page = text_of(client.get(reverse("pages:waiting-room", args=[show.concert_id])))
    assert "아직 이 공연의 대기열에 들어가지 않았습니다." in page


def test_booking_pages_without_an_active_session_redirect_to_the_waiting_room(client, fan, clock):
    show = make_show(queue_active_size=1)
    queue_enter(user_id=UserFactory().pk, concert_id=show.concert_id)
    client.post(reverse("pages:waiting-room", args=[show.concert_id]))  # waiting, not admitted

    response = client.get(reverse("pages:seat-map", args=[show.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('pages:waiting-room', args=[show.concert_id])}?show={show.pk}"
    held = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "C-1"))
    assert (
        client.post(reverse("pages:seat-map", args=[show.pk]), {"seat_ids": seats_of(show, "C-2")}).status_code == 302
    )
    response = client.post(reverse("pages:payment", args=[held.pk]), {"pin": "123456"}, follow=True)
    assert "예매하려면 대기열에서 차례가 되어야 합니다." in text_of(response)
    assert Reservation.objects.get(pk=held.pk).status == ReservationStatus.HELD  # nothing was paid


def test_seat_map_draws_rows_grades_prices_and_greys_taken_seats(client, fan, show):
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    admit(client, fan, show.concert_id)

    response = client.get(reverse("pages:seat-map", args=[show.pk]))

    page = text_of(response)
    assert response.status_code == 200
    assert page.count('class="seat-row"') == 2
    assert page.count('name="seat_ids"') == 19  # B-1 is held by someone else: no checkbox
    assert page.count('class="seat taken"') == 1
    assert "VIP 150,000원" in page and "R 100,000원" in page
    assert "최대 2석까지 선택하세요" in page
    assert 'data-testid="session-countdown"' in page


def test_holding_seats_goes_to_payment(client, fan, show):
    admit(client, fan, show.concert_id)

    response = client.post(reverse("pages:seat-map", args=[show.pk]), {"seat_ids": seats_of(show, "C-1", "C-2")})

    reservation = Reservation.objects.get(user=fan)
    assert response["Location"] == reverse("pages:payment", args=[reservation.pk])
    assert reservation.amount == 200_000


def test_holding_more_than_allowed_or_a_taken_seat_is_explained(client, fan, show):
    admit(client, fan, show.concert_id)
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))

    response = client.post(reverse("pages:seat-map", args=[show.pk]), {"seat_ids": seats_of(show, "C-1", "C-2", "C-3")})
    assert response.status_code == 409
    assert "한 회차에 1인당 최대 2석까지 예매할 수 있습니다" in text_of(response)

    response = client.post(reverse("pages:seat-map", args=[show.pk]), {"seat_ids": seats_of(show, "B-1", "C-1")})
    assert response.status_code == 409
    assert "죄송합니다. 방금 다른 분이 선택한 좌석입니다: B-1." in text_of(response)
    assert not Reservation.objects.filter(user=fan).exists()

    response = client.post(reverse("pages:seat-map", args=[show.pk]), {})
    assert response.status_code == 400 and "좌석을 하나 이상 선택하세요." in text_of(response)


@pytest.mark.parametrize("bad", ["abc", "+1", " 1", "1_0", "9" * 5000, "OTHER_SHOW"])
def test_a_hold_of_seats_not_on_the_page_is_a_400_that_holds_nothing(client, fan, show, bad):
    admit(client, fan, show.concert_id)
    if bad == "OTHER_SHOW":  # a real seat, of another show
        bad = str(seats_of(make_show(), "C-1")[0])

    response = client.post(reverse("pages:seat-map", args=[show.pk]), {"seat_ids": [seats_of(show, "C-1")[0], bad]})

    assert response.status_code == 400 and "선택가능항목에 없습니다" in text_of(response)
    assert not Reservation.objects.exists()


def test_an_unreachable_waiting_room_store_gets_a_try_again_page(client, fan, show, monkeypatch):
    admit(client, fan, show.concert_id)
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(services, "queue_redis", lambda: down)
    monkeypatch.setattr(selectors, "queue_redis", lambda: down)
    monkeypatch.setattr(selectors, "redis_client", lambda: down)

    entering = client.post(reverse("pages:waiting-room", args=[show.concert_id]))
    seats = client.get(reverse("pages:seat-map", args=[show.pk]))

    for response in (entering, seats):
        assert response.status_code == 503
        assert int(response["Retry-After"]) > 0
        assert "잠시 후 다시 시도해 주세요" in text_of(response)

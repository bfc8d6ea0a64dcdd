import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from django.db import connection
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from concerts.exceptions import ConcertNotFound
from core.exceptions import RateLimited, ServiceUnavailable
from queueing import selectors, services
from queueing.exceptions import BookingClosed, QueueFull, TokenNotFound
from queueing.scripts import ENTER, EnterAnswer, concert_keys, execute_pipeline
from queueing.selectors import QueueTokenStatus, queue_stats, queue_status
from queueing.services import (
    queue_enter,
    queue_extend_until,
    queue_flush,
    queue_leave,
    queue_promote,
    queue_promote_all,
    queue_remove,
    queue_set_paused,
    queue_token_new,
)
from queueing.tasks import promote_all
from queueing.tests.factories import ConcertFactory, ShowFactory, concert_on_sale
from queueing.tests.helpers import queue_redis_for_key, room_state, token_active, token_status

pytestmark = pytest.mark.django_db


def test_first_user_is_admitted_at_once_when_a_place_is_free_and_nobody_waits(clock):
    concert = concert_on_sale(queue_active_size=2, session_minutes=20)

    first = queue_enter(user_id=1, concert_id=concert.pk)

    assert first.created
    assert first.status is QueueTokenStatus.ACTIVE
    assert first.active_until == clock.now() + timedelta(minutes=20)
    assert first.active_seconds_left == 20 * 60
    assert first.position is None
    assert token_active(user_id=1, token=first.token)


def test_users_wait_once_the_active_places_are_taken(clock):
    concert = concert_on_sale(queue_active_size=2)

    answers = [queue_enter(user_id=user_id, concert_id=concert.pk) for user_id in range(1, 6)]

    assert [a.status for a in answers] == [QueueTokenStatus.ACTIVE] * 2 + [QueueTokenStatus.WAITING] * 3
    assert [a.position for a in answers[2:]] == [1, 2, 3]
    assert [a.ahead for a in answers[2:]] == [0, 1, 2]
    assert not token_active(user_id=3, token=answers[2].token)


def test_token_is_random_unguessable_and_names_its_concert():
    concert = concert_on_sale()

    tokens = {queue_enter(user_id=user_id, concert_id=concert.pk).token for user_id in range(1, 20)}

    assert len(tokens) == 19
    for token in tokens:
        prefix, random_part = token.split(".")
        assert prefix == str(concert.pk)
        assert len(random_part) >= 43  # token_urlsafe(32): 256 bits


def test_re_enter_returns_the_same_token_and_place():
    concert = concert_on_sale(queue_active_size=1)
    queue_enter(user_id=1, concert_id=concert.pk)
    first = queue_enter(user_id=2, concert_id=concert.pk)
    queue_enter(user_id=3, concert_id=concert.pk)

    again = queue_enter(user_id=2, concert_id=concert.pk)

    assert first.created and not again.created
    assert again.token == first.token
    assert (again.status, again.position) == (QueueTokenStatus.WAITING, 1)
    assert len(room_state(concert.pk).waiting) == 2


def test_queue_full_past_max_waiting_adds_nobody():
    concert = concert_on_sale(queue_active_size=1, queue_max_waiting=3)
    for user_id in range(1, 5):  # one active, three waiting
        queue_enter(user_id=user_id, concert_id=concert.pk)

    with pytest.raises(QueueFull) as refused:
        queue_enter(user_id=99, concert_id=concert.pk)

    assert refused.value.extra["retry_after_seconds"] > 0
    state = room_state(concert.pk)
    assert len(state.waiting) == 3
    assert 99 not in state.users
    # Someone already in line still gets their place back.
    assert queue_enter(user_id=4, concert_id=concert.pk).position == 3


def test_queue_full_at_the_default_ten_thousand(clock):
    concert = concert_on_sale()
    concert.queue_max_waiting = 10_000  # the SPEC default
    concert.save(update_fields=["queue_max_waiting"])
    assert type(concert)._meta.get_field("queue_max_waiting").default == 10_000
    queue_set_paused(concert_id=concert.pk, paused=True)
    keys = concert_keys(concert.pk)
    now = f"{clock.timestamp():.6f}"

    def build(pipe):  # the enter script itself, pipelined: 10,000 fans in a few round trips
        for user_id in range(1, 10_001):
            args = [user_id, f"{concert.pk}.{'x' * 40}{user_id}", now, 3, 1200, 10_000, 60, 300, 0, "", 0]
            pipe.evalsha(ENTER.sha, len(keys), *keys, *args)

    answers = execute_pipeline(queue_redis_for_key(keys[0]), build)
    assert EnterAnswer.from_script(answers[-1]).place.spot == 9_999  # rank of the 10,000th

    with pytest.raises(QueueFull):
        queue_enter(user_id=10_001, concert_id=concert.pk)
    assert queue_stats(concert_id=concert.pk).waiting == 10_000


def test_booking_closed_before_the_pre_queue_opens_and_after_closing(clock):
    concert = ConcertFactory(prequeue_minutes=30, queue_active_size=1, abandon_after_minutes=60)
    opens_at = clock.now() + timedelta(minutes=40)
    ShowFactory(concert=concert, booking_opens_at=opens_at, starts_at=clock.now() + timedelta(days=1))
    with pytest.raises(BookingClosed) as refused:
        queue_enter(user_id=1, concert_id=concert.pk)
    assert datetime.fromisoformat(refused.value.extra["prequeue_opens_at"]) == opens_at - timedelta(minutes=30)

    clock.advance(timedelta(minutes=10))
    early = queue_enter(user_id=1, concert_id=concert.pk)
    assert early.status is QueueTokenStatus.PREQUEUE

    clock.advance(timedelta(minutes=30))
    later = queue_enter(user_id=2, concert_id=concert.pk)  # the opening moved user 1 first
    assert (later.status, later.position) == (QueueTokenStatus.WAITING, 1)
    assert token_active(user_id=1, token=early.token)

    clock.advance(timedelta(days=1))
    with pytest.raises(BookingClosed):
        queue_enter(user_id=2, concert_id=concert.pk)


def test_unknown_concert():
    with pytest.raises(ConcertNotFound):
        queue_enter(user_id=1, concert_id=987654)


@pytest.mark.django_db(transaction=True)
def test_2000_concurrent_enters_get_2000_distinct_consecutive_positions():
    concert = concert_on_sale(queue_max_waiting=5_000, queue_active_size=5)
    queue_set_paused(concert_id=concert.pk, paused=True)  # nobody admitted: everyone has a position

    workers = 32
    start = threading.Barrier(workers)

    def enter_all(first_user: int) -> list:
        try:
            start.wait()
            return [queue_enter(user_id=u, concert_id=concert.pk) for u in range(first_user, 2001, workers)]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = [answer for chunk in pool.map(enter_all, range(1, workers + 1)) for answer in chunk]

    assert sorted(a.position for a in answers) == list(range(1, 2001))
    assert len({a.token for a in answers}) == 2000
    state = room_state(concert.pk)
    assert len(state.waiting) == 2000 and state.active == []
    # The position each got is still its place in line (first come, first served).
    by_token = {a.token: a.position for a in answers}
    assert [by_token[token] for token in state.waiting] == list(range(1, 2001))
    assert set(state.users) == set(range(1, 2001))


def test_promotion_admits_longest_waiting_into_free_places_only(clock):
    concert = concert_on_sale(queue_active_size=3)
    queue_set_paused(concert_id=concert.pk, paused=True)
    tokens = {user_id: queue_enter(user_id=user_id, concert_id=concert.pk).token for user_id in range(1, 11)}
    queue_set_paused(concert_id=concert.pk, paused=False)

    result = queue_promote(concert_id=concert.pk)

    assert (result.expired, result.admitted) == (0, 3)
    assert [token_active(user_id=u, token=tokens[u]) for u in range(1, 11)] == [True] * 3 + [False] * 7
    assert queue_promote(concert_id=concert.pk).admitted == 0
    assert token_status(user_id=4, token=tokens[4]).position == 1


@pytest.mark.parametrize("round_", range(15))
def test_concurrent_promoters_never_exceed_the_active_size_nor_admit_twice(clock, round_):
    concert = concert_on_sale(queue_active_size=4, session_minutes=1)
    queue_set_paused(concert_id=concert.pk, paused=True)
    for user_id in range(1, 31):
        queue_enter(user_id=user_id, concert_id=concert.pk)
    queue_set_paused(concert_id=concert.pk, paused=False)
    promoters = 6
    barrier = threading.Barrier(promoters)

    def promote_many() -> int:
        barrier.wait()
        return sum(queue_promote(concert_id=concert.pk, active_size=4, session_minutes=1).admitted for _ in range(10))

    for tick in range(3):  # each tick: every session has ended, four new admissions
        with ThreadPoolExecutor(max_workers=promoters) as pool:
            admitted = sum(pool.map(lambda _: promote_many(), range(promoters)))
        state = room_state(concert.pk)
        assert admitted == 4
        assert len(state.active) == 4
        assert set(state.active).isdisjoint(state.waiting)
        assert len(state.waiting) == 30 - 4 * (tick + 1)
        assert sorted(state.users[u] for u in range(4 * tick + 1, 4 * tick + 5)) == sorted(state.active)
        clock.advance(timedelta(minutes=1))
    assert len(state.admits) == len(set(state.admits))


def test_session_expires_with_the_clock_and_the_place_goes_to_the_next(clock):
    concert = concert_on_sale(queue_active_size=1, session_minutes=20, abandon_after_minutes=30)  # user 2 is silent
    first = queue_enter(user_id=1, concert_id=concert.pk)
    second = queue_enter(user_id=2, concert_id=concert.pk)
    assert second.status is QueueTokenStatus.WAITING

    clock.advance(timedelta(minutes=20) - timedelta(seconds=1))
    assert token_active(user_id=1, token=first.token)
    assert queue_status(user_id=1, token=first.token).active_seconds_left == 1

    clock.advance(timedelta(seconds=1))
    assert not token_active(user_id=1, token=first.token)
    with pytest.raises(TokenNotFound):
        queue_status(user_id=1, token=first.token)

    result = queue_promote(concert_id=concert.pk)
    assert (result.expired, result.admitted) == (1, 1)
    assert queue_status(user_id=2, token=second.token).status is QueueTokenStatus.ACTIVE
    assert 1 not in room_state(concert.pk).users
    # The expired user may enter again, at the back, with a new token.
    again = queue_enter(user_id=1, concert_id=concert.pk)
    assert again.created and again.token != first.token


def test_leave_frees_the_place_and_the_next_user_gets_it_at_once():
    concert = concert_on_sale(queue_active_size=1)
    first = queue_enter(user_id=1, concert_id=concert.pk)
    second = queue_enter(user_id=2, concert_id=concert.pk)
    third = queue_enter(user_id=3, concert_id=concert.pk)

    queue_leave(user_id=1, token=first.token)

    assert queue_status(user_id=2, token=second.token).status is QueueTokenStatus.ACTIVE
    assert queue_status(user_id=3, token=third.token).position == 1
    with pytest.raises(TokenNotFound):
        queue_status(user_id=1, token=first.token)
    with pytest.raises(TokenNotFound):
        queue_leave(user_id=1, token=first.token)


def test_a_waiting_user_leaving_moves_everyone_behind_up():
    concert = concert_on_sale(queue_active_size=1)
    tokens = [queue_enter(user_id=u, concert_id=concert.pk).token for u in range(1, 5)]

    queue_leave(user_id=2, token=tokens[1])

    assert [queue_status(user_id=u, token=tokens[u - 1]).position for u in (3, 4)] == [1, 2]


def test_leave_with_another_users_token_is_refused():
    concert = concert_on_sale()
    token = queue_enter(user_id=1, concert_id=concert.pk).token

    with pytest.raises(TokenNotFound):
        queue_leave(user_id=2, token=token)
    assert token_active(user_id=1, token=token)


def test_remove_is_idempotent_and_fills_the_place():
    concert = concert_on_sale(queue_active_size=1)
    first = queue_enter(user_id=1, concert_id=concert.pk)
    second = queue_enter(user_id=2, concert_id=concert.pk)

    assert queue_remove(user_id=1, concert_id=concert.pk, reason="paid") is True
    assert queue_remove(user_id=1, concert_id=concert.pk, reason="paid") is False

    assert token_active(user_id=2, token=second.token)
    assert token_status(user_id=1, token=first.token) is None


def test_extend_until_keeps_an_active_session_open_and_never_shortens_it(clock):
    concert = concert_on_sale(queue_active_size=1, session_minutes=20)
    token = queue_enter(user_id=1, concert_id=concert.pk).token
    second = queue_enter(user_id=2, concert_id=concert.pk).token

    clock.advance(timedelta(minutes=18))
    assert queue_extend_until(user_id=1, concert_id=concert.pk, until=clock.now() + timedelta(minutes=5))
    assert queue_extend_until(user_id=1, concert_id=concert.pk, until=clock.now())  # no shortening
    assert queue_status(user_id=1, token=token).active_seconds_left == 5 * 60

    clock.advance(timedelta(minutes=4))
    queue_promote(concert_id=concert.pk)
    assert token_active(user_id=1, token=token)
    assert not token_active(user_id=2, token=second)

    clock.advance(timedelta(minutes=1))
    assert not queue_extend_until(user_id=1, concert_id=concert.pk, until=clock.now() + timedelta(minutes=5))
    assert not queue_extend_until(user_id=2, concert_id=concert.pk, until=clock.now() + timedelta(minutes=5))
    assert not token_active(user_id=1, token=token)


def test_pause_stops_admission_until_resumed():
    concert = concert_on_sale(queue_active_size=2)
    queue_set_paused(concert_id=concert.pk, paused=True)

    waiting = queue_enter(user_id=1, concert_id=concert.pk)
    assert waiting.status is QueueTokenStatus.WAITING
    assert queue_promote(concert_id=concert.pk).admitted == 0
    assert queue_stats(concert_id=concert.pk).paused

    queue_set_paused(concert_id=concert.pk, paused=False)
    assert queue_promote(concert_id=concert.pk).admitted == 1
    assert token_active(user_id=1, token=waiting.token)


def test_flush_empties_the_room():
    concert = concert_on_sale(queue_active_size=1)
    tokens = [queue_enter(user_id=u, concert_id=concert.pk).token for u in (1, 2)]

    queue_flush(concert_id=concert.pk)

    stats = queue_stats(concert_id=concert.pk)
    assert (stats.waiting, stats.active) == (0, 0)
    for user_id, token in zip((1, 2), tokens, strict=True):
        with pytest.raises(TokenNotFound):
            queue_status(user_id=user_id, token=token)
    assert queue_enter(user_id=2, concert_id=concert.pk).status is QueueTokenStatus.ACTIVE


def test_estimated_wait_from_the_observed_rate_else_the_policy_rate(clock, settings):
    settings.QUEUE_RATE_WINDOW_SECONDS = 60
    concert = concert_on_sale(queue_active_size=2, session_minutes=10)
    tokens = {user_id: queue_enter(user_id=user_id, concert_id=concert.pk).token for user_id in range(1, 9)}
    # Users 1 and 2 were admitted on entering: 2 admissions in the last 60 s -> 1 per 30 s.
    assert token_status(user_id=3, token=tokens[3]).estimated_wait_seconds == 30
    assert token_status(user_id=8, token=tokens[8]).estimated_wait_seconds == 6 * 30

    # A quiet minute: no admissions observed, so the policy rate (2 places per 600 s).
    clock.advance(timedelta(seconds=61))
    queue_promote(concert_id=concert.pk)
    assert token_status(user_id=3, token=tokens[3]).estimated_wait_seconds == 300

    assert queue_stats(concert_id=concert.pk).admitted_recently == 0


def test_the_wait_is_a_range_that_narrows_as_admissions_are_counted_and_says_who_is_behind(clock, settings):
    settings.QUEUE_RATE_WINDOW_SECONDS = 60
    concert = concert_on_sale(queue_active_size=2, session_minutes=10)
    tokens = {user_id: queue_enter(user_id=user_id, concert_id=concert.pk).token for user_id in range(1, 9)}

    # Two admissions counted: the rate could be nearly nothing, so the wait has no upper end yet.
    front = token_status(user_id=3, token=tokens[3])
    assert (front.position, front.ahead, front.behind) == (1, 0, 5)
    assert (front.estimated_wait_low_seconds, front.estimated_wait_seconds, front.estimated_wait_high_seconds) == (
        12,
        30,
        None,
    )

    # Many admissions counted (2 per second over the window): a narrow range around the same rule.
    settings.QUEUE_RATE_WINDOW_SECONDS = 60
    settings.QUEUE_OPENING_RAMP_PER_SECOND = 0  # the 120 admitted at once, without the opening ramp
    busy = concert_on_sale(queue_active_size=120, session_minutes=10)
    busy_tokens = [queue_enter(user_id=user_id, concert_id=busy.pk).token for user_id in range(100, 100 + 130)]
    last = token_status(user_id=229, token=busy_tokens[-1])
    assert (last.position, last.behind) == (10, 0)
    low, point, high = last.estimated_wait_low_seconds, last.estimated_wait_seconds, last.estimated_wait_high_seconds
    assert low < point < high and (high - low) < point  # 120 counted: within about +-20 %


def test_refresh_after_grows_with_position(settings):
    settings.QUEUE_REFRESH_STEP_POSITIONS = 2
    concert = concert_on_sale(queue_active_size=1, session_minutes=60)
    answers = [queue_enter(user_id=u, concert_id=concert.pk) for u in range(1, 12)]

    refresh = [a.refresh_after_seconds for a in answers[1:]]

    assert refresh == sorted(refresh)
    assert refresh[0] == settings.QUEUE_REFRESH_MIN_SECONDS
    assert refresh[-1] > refresh[0]
    assert max(refresh) <= settings.QUEUE_REFRESH_MAX_SECONDS


def test_promote_all_promotes_every_concert_on_sale_only(clock):
    on_sale = concert_on_sale(queue_active_size=1, abandon_after_minutes=30)  # user 2 waits silently
    closed = ConcertFactory(queue_active_size=1)
    for concert in (on_sale, closed):
        queue_set_paused(concert_id=concert.pk, paused=True)
    tokens = {user_id: queue_enter(user_id=user_id, concert_id=on_sale.pk).token for user_id in (1, 2)}
    for concert in (on_sale, closed):
        queue_set_paused(concert_id=concert.pk, paused=False)

    results = queue_promote_all()

    assert [(r.concert_id, r.admitted) for r in results] == [(on_sale.pk, 1)]
    assert promote_all.name == "queueing.tasks.promote_all"
    clock.advance(timedelta(minutes=on_sale.session_minutes))
    assert promote_all() == 1  # the task run in-process: user 1's session ended, user 2 admitted
    assert token_active(user_id=2, token=tokens[2])


def test_redis_down_is_service_unavailable_not_a_crash(monkeypatch):
    concert = concert_on_sale()
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(services, "queue_redis", lambda: down)
    monkeypatch.setattr(selectors, "queue_redis", lambda: down)
    monkeypatch.setattr(selectors, "redis_client", lambda: down)

    with pytest.raises(ServiceUnavailable) as refused:
        queue_enter(user_id=1, concert_id=concert.pk)
    assert refused.value.extra["retry_after_seconds"] > 0
    with pytest.raises(ServiceUnavailable):
        queue_status(user_id=1, token=queue_token_new(concert_id=concert.pk))
    with pytest.raises(ServiceUnavailable):
        queue_remove(user_id=1, concert_id=concert.pk, reason="paid")


def test_enter_reads_the_policy_from_a_short_cache_but_the_booking_window_against_now(clock, settings):
    settings.QUEUE_POLICY_CACHE_SECONDS = 60
    concert = ConcertFactory(queue_active_size=1, queue_max_waiting=1)
    show = ShowFactory(concert=concert, booking_closes_at=clock.now() + timedelta(minutes=5))
    queue_enter(user_id=1, concert_id=concert.pk)
    queue_enter(user_id=2, concert_id=concert.pk)
    concert.queue_max_waiting = 5
    concert.save(update_fields=["queue_max_waiting"])

    with pytest.raises(QueueFull):  # the cached policy, for up to QUEUE_POLICY_CACHE_SECONDS
        queue_enter(user_id=3, concert_id=concert.pk)
    clock.advance(timedelta(minutes=5))  # the window closes exactly, cache or not
    with pytest.raises(BookingClosed):
        queue_enter(user_id=3, concert_id=concert.pk)

    settings.QUEUE_POLICY_CACHE_SECONDS = 0
    show.booking_closes_at = show.starts_at
    show.save(update_fields=["booking_closes_at"])
    assert queue_enter(user_id=3, concert_id=concert.pk).position == 2


def test_enter_rate_limits_count_requests_only_and_a_refused_attempt_changes_nothing(clock, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "queue_enter_user": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    concert = concert_on_sale(queue_active_size=1)
    for _ in range(3):  # an internal caller (no client address) is not counted
        queue_enter(user_id=1, concert_id=concert.pk)
    queue_enter(user_id=2, concert_id=concert.pk, client_ip="10.0.0.1")
    queue_enter(user_id=2, concert_id=concert.pk, client_ip="10.0.0.2")
    before = room_state(concert.pk)

    with pytest.raises(RateLimited) as refused:
        queue_enter(user_id=2, concert_id=concert.pk, client_ip="10.0.0.3")

    assert 1 <= refused.value.extra["retry_after_seconds"] <= 60
    assert room_state(concert.pk) == before
    clock.advance(timedelta(seconds=refused.value.extra["retry_after_seconds"]))
    assert queue_enter(user_id=2, concert_id=concert.pk, client_ip="10.0.0.3").position == 1  # a new window

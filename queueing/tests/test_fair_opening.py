"""Issue 8: the pre-queue and its one-time shuffle, abandoned places, client pacing, and the
per-minute admission cap. Real Redis, injected clock."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from queueing.exceptions import BookingClosed, TokenNotFound
from queueing.scripts import ENTER, EnterAnswer, concert_keys, execute_pipeline
from queueing.selectors import QueueTokenStatus, concert_queue_policy, queue_stats, queue_status
from queueing.services import queue_enter, queue_leave, queue_promote, queue_set_paused
from queueing.tests.factories import ConcertFactory, ShowFactory, concert_on_sale
from queueing.tests.helpers import count_redis_round_trips, queue_redis_for_key, room_state

pytestmark = pytest.mark.django_db


def concert_opening_in(clock, minutes: int, **fields):
    """A concert whose only show's booking opens `minutes` from now (pre-queue: 30 minutes)."""
    concert = ConcertFactory(**{"prequeue_minutes": 30, "abandon_after_minutes": 60, **fields})
    ShowFactory(
        concert=concert,
        booking_opens_at=clock.now() + timedelta(minutes=minutes),
        starts_at=clock.now() + timedelta(days=3),
    )
    return concert


def prequeue_order(concert_id: int) -> list[int]:
    """The users of the pre-queue in the order the opening will place them (their random scores)."""
    state = room_state(concert_id)
    return [state.tokens[token] for token in state.prequeue]


def waiting_users(concert_id: int) -> list[int]:
    state = room_state(concert_id)
    return [state.tokens[token] for token in state.waiting]


# --- pre-queue ---------------------------------------------------------------------------------


def test_before_the_pre_queue_opens_entering_is_booking_closed_with_the_time_it_opens(clock):
    concert = concert_opening_in(clock, 31)

    with pytest.raises(BookingClosed) as refused:
        queue_enter(user_id=1, concert_id=concert.pk)

    opens = clock.now() + timedelta(minutes=1)
    assert datetime.fromisoformat(refused.value.extra["prequeue_opens_at"]) == opens
    assert queue_stats(concert_id=concert.pk).prequeue == 0


def test_pre_queue_answer_has_no_position_and_counts_down_to_the_opening(clock, settings):
    concert = concert_opening_in(clock, 10)

    first = queue_enter(user_id=1, concert_id=concert.pk)
    clock.advance(timedelta(minutes=9, seconds=55))
    again = queue_enter(user_id=1, concert_id=concert.pk)
    polled = queue_status(user_id=1, token=first.token)

    assert first.created and not again.created and again.token == first.token
    assert first.status is QueueTokenStatus.PREQUEUE
    assert (first.position, first.ahead, first.estimated_wait_seconds) == (None, None, None)
    assert first.seconds_until_open == 600
    assert first.refresh_after_seconds == settings.QUEUE_REFRESH_MAX_SECONDS
    assert (polled.status, polled.seconds_until_open, polled.refresh_after_seconds) == (
        QueueTokenStatus.PREQUEUE,
        5,
        5,
    )
    stats = queue_stats(concert_id=concert.pk)
    assert (stats.prequeue, stats.waiting, stats.active) == (1, 0, 0)
    # Nobody is admitted before the opening, even with free places.
    assert room_state(concert.pk).active == []


def test_1000_pre_queue_fans_come_out_shuffled_each_once_ahead_of_a_later_fan(clock, settings):
    settings.QUEUE_POLICY_CACHE_SECONDS = 600  # 1,000 enters, one policy query
    concert = concert_opening_in(clock, 10, queue_max_waiting=5_000, queue_active_size=5)
    queue_set_paused(concert_id=concert.pk, paused=True)  # nobody admitted: all keep a position
    arrivals = list(range(1, 1001))
    answers = [queue_enter(user_id=user_id, concert_id=concert.pk) for user_id in arrivals]
    assert {a.status for a in answers} == {QueueTokenStatus.PREQUEUE}
    predicted = prequeue_order(concert.pk)

    clock.advance(timedelta(minutes=10))
    # The fan arriving right at the opening, before any promotion tick, still comes after.
    late = queue_enter(user_id=5_000, concert_id=concert.pk)
    result = queue_promote(concert_id=concert.pk)

    order = waiting_users(concert.pk)
    assert order[-1] == 5_000 and late.status is QueueTokenStatus.WAITING
    shuffled = order[:-1]
    assert sorted(shuffled) == arrivals  # each exactly once, nobody lost
    assert shuffled == predicted  # the order drawn at entry (secrets), applied once
    assert shuffled != arrivals and shuffled != arrivals[::-1]
    assert sum(1 for place, user in enumerate(shuffled, 1) if place == user) < 20  # ~1 expected
    assert sum(1 for user in shuffled[:500] if user <= 500) < 400  # early arrivals not favoured
    assert result.opened == 0  # the late fan's enter had opened it already
    assert room_state(concert.pk).prequeue == []
    # Positions are the shuffled order; from now on first come, first served.
    by_user = {a.token: user for a, user in zip(answers, arrivals, strict=True)}
    some = answers[::97]
    for answer in some:
        assert queue_status(user_id=by_user[answer.token], token=answer.token).position == (
            shuffled.index(by_user[answer.token]) + 1
        )
    assert queue_enter(user_id=5_001, concert_id=concert.pk).position == 1002
    # Promoting again shuffles nothing.
    assert queue_promote(concert_id=concert.pk).opened == 0
    assert waiting_users(concert.pk)[:-1] == order


def test_the_promotion_tick_opens_the_pre_queue_and_admits_from_its_head(clock):
    concert = concert_opening_in(clock, 5, queue_active_size=2)
    for user_id in range(1, 11):
        queue_enter(user_id=user_id, concert_id=concert.pk)
    predicted = prequeue_order(concert.pk)

    clock.advance(timedelta(minutes=5))
    result = queue_promote(concert_id=concert.pk)

    assert (result.opened, result.admitted) == (10, 2)
    state = room_state(concert.pk)
    assert sorted(state.tokens[t] for t in state.active) == sorted(predicted[:2])
    assert waiting_users(concert.pk) == predicted[2:]


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_openings_shuffle_once_and_lose_nobody(clock, round_):
    concert = concert_opening_in(clock, 5, queue_active_size=3, queue_max_waiting=1_000)
    for user_id in range(1, 301):
        queue_enter(user_id=user_id, concert_id=concert.pk)
    predicted = prequeue_order(concert.pk)
    clock.advance(timedelta(minutes=5))
    policy = concert_queue_policy(concert_id=concert.pk, now=clock.now())  # the threads need no SQL
    promoters = 8
    barrier = threading.Barrier(promoters)

    def promote_twice() -> list:
        barrier.wait()
        return [queue_promote(concert_id=concert.pk, policy=policy) for _ in range(2)]

    with ThreadPoolExecutor(max_workers=promoters) as pool:
        results = [r for chunk in pool.map(lambda _: promote_twice(), range(promoters)) for r in chunk]

    assert sorted(r.opened for r in results) == [0] * (2 * promoters - 1) + [300]
    assert sum(r.admitted for r in results) == 3
    state = room_state(concert.pk)
    admitted = [state.tokens[t] for t in state.active]
    assert sorted(admitted) == sorted(predicted[:3])
    assert waiting_users(concert.pk) == predicted[3:]  # one order: the one drawn at entry
    assert len(state.users) == 300


def test_a_pre_queue_entry_that_arrives_after_the_opening_joins_the_line(clock):
    """A web process that still thinks the sale has not opened (its clock a little behind) sends a
    pre-queue entry after the opening: it goes to the back of the line, not into the pre-queue."""
    concert = concert_opening_in(clock, 5)
    queue_set_paused(concert_id=concert.pk, paused=True)
    queue_enter(user_id=1, concert_id=concert.pk)
    opens = clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    queue_promote(concert_id=concert.pk)
    keys = concert_keys(concert.pk)
    late_args = [2, f"{concert.pk}.{'y' * 43}", f"{clock.timestamp():.6f}", 3, 1200, 50, 60, 3600, 0]
    late_args += [f"{opens.timestamp():.6f}", 12345]

    answer = execute_pipeline(
        queue_redis_for_key(keys[0]), lambda pipe: pipe.evalsha(ENTER.sha, len(keys), *keys, *late_args)
    )[0]

    place = EnterAnswer.from_script(answer).place
    assert (place.status, place.spot) == ("WAITING", 1)
    assert room_state(concert.pk).prequeue == []


def test_without_a_pre_queue_entering_before_booking_opens_is_closed(clock):
    concert = concert_opening_in(clock, 5, prequeue_minutes=0)

    with pytest.raises(BookingClosed):
        queue_enter(user_id=1, concert_id=concert.pk)


def test_a_pre_queue_fan_can_leave(clock):
    concert = concert_opening_in(clock, 5)
    token = queue_enter(user_id=1, concert_id=concert.pk).token

    queue_leave(user_id=1, token=token)

    assert queue_stats(concert_id=concert.pk).prequeue == 0
    with pytest.raises(TokenNotFound):
        queue_status(user_id=1, token=token)


# --- abandoned places --------------------------------------------------------------------------


def test_a_silent_fan_is_pruned_and_everyone_behind_moves_up(clock):
    concert = concert_on_sale(queue_active_size=1, abandon_after_minutes=5)
    queue_set_paused(concert_id=concert.pk, paused=True)
    tokens = {u: queue_enter(user_id=u, concert_id=concert.pk).token for u in range(1, 6)}

    clock.advance(timedelta(minutes=3))
    for user_id in (1, 2, 4):  # user 3 and user 5 say nothing more
        queue_status(user_id=user_id, token=tokens[user_id])
    clock.advance(timedelta(minutes=2))  # user 3 silent exactly 5 min: not longer, keeps it
    assert queue_promote(concert_id=concert.pk).abandoned == 0
    queue_status(user_id=5, token=tokens[5])  # user 5 comes back just in time
    clock.advance(timedelta(seconds=1))  # user 3 silent 5 min 1 s

    result = queue_promote(concert_id=concert.pk)

    assert result.abandoned == 1
    with pytest.raises(TokenNotFound):
        queue_status(user_id=3, token=tokens[3])
    positions = [queue_status(user_id=u, token=tokens[u]).position for u in (1, 2, 4, 5)]
    assert positions == [1, 2, 3, 4]  # user 4 and 5 moved up
    stats = queue_stats(concert_id=concert.pk)
    assert (stats.waiting, stats.abandoned_recently) == (4, 1)
    assert 3 not in room_state(concert.pk).users  # may enter again, at the back
    assert queue_enter(user_id=3, concert_id=concert.pk).position == 5

    clock.advance(timedelta(seconds=61))
    queue_promote(concert_id=concert.pk)  # everyone silent for 1 min 1 s: nobody pruned
    assert queue_stats(concert_id=concert.pk).abandoned_recently == 0
    assert queue_stats(concert_id=concert.pk).waiting == 5


def test_the_estimated_wait_counts_only_fans_still_there(clock):
    concert = concert_on_sale(queue_active_size=1, session_minutes=10, abandon_after_minutes=5)
    queue_set_paused(concert_id=concert.pk, paused=True)
    tokens = {u: queue_enter(user_id=u, concert_id=concert.pk).token for u in range(1, 12)}
    before = queue_status(user_id=11, token=tokens[11])

    clock.advance(timedelta(minutes=4))
    queue_status(user_id=11, token=tokens[11])
    clock.advance(timedelta(minutes=2))
    queue_promote(concert_id=concert.pk)
    after = queue_status(user_id=11, token=tokens[11])

    assert (before.position, after.position) == (11, 1)
    assert after.estimated_wait_seconds < before.estimated_wait_seconds


def test_an_admitted_fan_is_never_pruned_for_not_polling(clock):
    concert = concert_on_sale(queue_active_size=1, session_minutes=20, abandon_after_minutes=5)
    queue_enter(user_id=1, concert_id=concert.pk)

    clock.advance(timedelta(minutes=10))
    result = queue_promote(concert_id=concert.pk)

    assert result.abandoned == 0
    assert room_state(concert.pk).active and room_state(concert.pk).seen == {}


def test_a_leave_prunes_before_it_fills_the_freed_place(clock):
    concert = concert_on_sale(queue_active_size=1, abandon_after_minutes=5)
    first = queue_enter(user_id=1, concert_id=concert.pk)
    silent = queue_enter(user_id=2, concert_id=concert.pk)
    there = queue_enter(user_id=3, concert_id=concert.pk)

    clock.advance(timedelta(minutes=4))
    queue_status(user_id=3, token=there.token)
    clock.advance(timedelta(minutes=2))
    queue_leave(user_id=1, token=first.token)

    assert queue_status(user_id=3, token=there.token).status is QueueTokenStatus.ACTIVE
    with pytest.raises(TokenNotFound):
        queue_status(user_id=2, token=silent.token)


def test_the_poll_marks_the_fan_seen_in_its_one_round_trip(clock):
    concert = concert_on_sale(queue_active_size=1)
    queue_enter(user_id=1, concert_id=concert.pk)
    token = queue_enter(user_id=2, concert_id=concert.pk).token
    clock.advance(timedelta(seconds=42))

    with count_redis_round_trips() as round_trips:
        queue_status(user_id=2, token=token)

    assert round_trips.count == 1
    assert room_state(concert.pk).seen[token] == pytest.approx(clock.timestamp(), abs=1e-3)


# --- pacing ------------------------------------------------------------------------------------


def test_refresh_after_seconds_grows_with_position_from_2_to_120_seconds(clock, settings):
    """The default curve: 2 s for the next fifty, one more second per 50 places, at most 120 s
    (far back, a place changes slowly; thousands of fans asking often cost the server most)."""
    assert (settings.QUEUE_REFRESH_MIN_SECONDS, settings.QUEUE_REFRESH_MAX_SECONDS) == (2, 120)
    assert settings.QUEUE_REFRESH_STEP_POSITIONS == 50
    concert = concert_on_sale(queue_max_waiting=20_000, queue_active_size=1, session_minutes=600)
    queue_set_paused(concert_id=concert.pk, paused=True)
    keys = concert_keys(concert.pk)
    now = f"{clock.timestamp():.6f}"

    def token(user_id: int) -> str:
        return f"{concert.pk}.{'x' * 40}{user_id}"

    def build(pipe):
        for user_id in range(1, 12_001):
            args = [user_id, token(user_id), now, 1, 36_000, 20_000, 60, 3600, 0, "", 0]
            pipe.evalsha(ENTER.sha, len(keys), *keys, *args)

    execute_pipeline(queue_redis_for_key(keys[0]), build)
    positions = [1, 2, 50, 51, 500, 1_000, 2_500, 2_901, 2_951, 5_000, 5_900, 5_901, 9_000, 12_000]

    refresh = [queue_status(user_id=p, token=token(p)).refresh_after_seconds for p in positions]

    assert [queue_status(user_id=p, token=token(p)).position for p in positions] == positions
    assert refresh == [2, 2, 2, 3, 11, 21, 51, 60, 61, 101, 119, 120, 120, 120]


def test_refresh_after_seconds_is_never_much_later_than_the_turn(clock):
    concert = concert_on_sale(queue_active_size=3)
    answers = [queue_enter(user_id=u, concert_id=concert.pk) for u in range(1, 5)]

    waiting = answers[-1]

    assert waiting.position == 1
    assert waiting.refresh_after_seconds <= max(2, waiting.estimated_wait_seconds)


# --- admissions per minute ---------------------------------------------------------------------


def test_enter_honours_the_admissions_per_minute_cap(clock):
    concert = concert_on_sale(queue_active_size=10, admissions_per_minute=2)

    answers = [queue_enter(user_id=u, concert_id=concert.pk) for u in range(1, 6)]

    assert [a.status for a in answers] == [QueueTokenStatus.ACTIVE] * 2 + [QueueTokenStatus.WAITING] * 3
    clock.advance(timedelta(seconds=59))
    assert queue_promote(concert_id=concert.pk).admitted == 0
    clock.advance(timedelta(seconds=1))
    assert queue_promote(concert_id=concert.pk).admitted == 2


@pytest.mark.parametrize("round_", range(5))
def test_the_per_minute_cap_holds_under_two_concurrent_promoters(clock, round_):
    concert = concert_on_sale(queue_active_size=50, admissions_per_minute=7, session_minutes=60)
    queue_set_paused(concert_id=concert.pk, paused=True)
    for user_id in range(1, 41):
        queue_enter(user_id=user_id, concert_id=concert.pk)
    queue_set_paused(concert_id=concert.pk, paused=False)
    policy = concert_queue_policy(concert_id=concert.pk, now=clock.now())

    def race() -> int:
        barrier = threading.Barrier(2)

        def promote_many() -> int:
            barrier.wait()
            return sum(queue_promote(concert_id=concert.pk, policy=policy).admitted for _ in range(10))

        with ThreadPoolExecutor(max_workers=2) as pool:
            return sum(pool.map(lambda _: promote_many(), range(2)))

    assert race() == 7
    clock.advance(timedelta(seconds=30))
    assert race() == 0  # still within the minute
    clock.advance(timedelta(seconds=30))
    assert race() == 7
    state = room_state(concert.pk)
    assert len(state.active) == 14 and len(state.admits) == 14
    assert queue_stats(concert_id=concert.pk).admitted_recently == 7

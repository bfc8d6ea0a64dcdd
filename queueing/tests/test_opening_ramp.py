"""The opening ramp: an empty active set opens QUEUE_OPENING_RAMP_PER_SECOND places a second, so
that a sale's first fans do not all reach the booking path in the same instant; after that a freed
place is handed on at once."""

from datetime import timedelta

import pytest

from queueing.selectors import QueueTokenStatus
from queueing.services import queue_enter, queue_leave, queue_promote, queue_set_paused
from queueing.tests.factories import concert_on_sale
from queueing.tests.helpers import room_state, token_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def ramp(settings):
    settings.QUEUE_OPENING_RAMP_PER_SECOND = 4
    return 4


def statuses(tokens: dict[int, str]) -> dict[int, QueueTokenStatus]:
    return {user_id: token_status(user_id=user_id, token=token).status for user_id, token in tokens.items()}


def active_users(tokens: dict[int, str]) -> list[int]:
    return sorted(user_id for user_id, status in statuses(tokens).items() if status is QueueTokenStatus.ACTIVE)


def test_an_empty_room_opens_a_step_of_places_each_second_in_arrival_order(clock, ramp):
    concert = concert_on_sale(queue_active_size=10)
    tokens = {user_id: queue_enter(user_id=user_id, concert_id=concert.pk).token for user_id in range(1, 15)}

    assert active_users(tokens) == [1, 2, 3, 4]  # the first second: one step
    clock.advance(timedelta(seconds=0.9))
    queue_promote(concert_id=concert.pk)
    assert active_users(tokens) == [1, 2, 3, 4]

    clock.advance(timedelta(seconds=0.1))  # a second after the first admission
    queue_promote(concert_id=concert.pk)
    assert active_users(tokens) == list(range(1, 9))

    clock.advance(timedelta(seconds=1))
    queue_promote(concert_id=concert.pk)
    assert active_users(tokens) == list(range(1, 11))  # the active size, never more
    assert len(room_state(concert.pk).active) == 10
    assert token_status(user_id=11, token=tokens[11]).position == 1


def test_after_the_ramp_freed_places_are_handed_on_at_once(clock, ramp):
    concert = concert_on_sale(queue_active_size=8)
    tokens = {user_id: queue_enter(user_id=user_id, concert_id=concert.pk).token for user_id in range(1, 15)}
    clock.advance(timedelta(seconds=2))
    queue_promote(concert_id=concert.pk)
    assert active_users(tokens) == list(range(1, 9))

    for user_id in range(1, 7):  # six places freed in the same instant: more than a step
        queue_leave(user_id=user_id, token=tokens[user_id])

    assert active_users({k: v for k, v in tokens.items() if k > 6}) == list(range(7, 15))


def test_a_fan_entering_a_quiet_room_is_admitted_at_once(clock, ramp):
    concert = concert_on_sale(queue_active_size=10)
    first = queue_enter(user_id=1, concert_id=concert.pk)
    queue_leave(user_id=1, token=first.token)
    clock.advance(timedelta(seconds=30))

    later = queue_enter(user_id=2, concert_id=concert.pk)

    assert first.status is QueueTokenStatus.ACTIVE
    assert later.status is QueueTokenStatus.ACTIVE


def test_a_resumed_room_whose_sessions_ended_ramps_again(clock, ramp):
    concert = concert_on_sale(queue_active_size=10, session_minutes=1)
    first = {user_id: queue_enter(user_id=user_id, concert_id=concert.pk).token for user_id in range(1, 5)}
    assert active_users(first) == [1, 2, 3, 4]
    queue_set_paused(concert_id=concert.pk, paused=True)
    later = {user_id: queue_enter(user_id=user_id, concert_id=concert.pk).token for user_id in range(5, 17)}
    clock.advance(timedelta(minutes=2))  # the admitted sessions end while the room is paused

    queue_set_paused(concert_id=concert.pk, paused=False)
    queue_promote(concert_id=concert.pk)

    assert active_users(later) == [5, 6, 7, 8]


def test_without_the_ramp_every_place_opens_at_once(clock, settings):
    settings.QUEUE_OPENING_RAMP_PER_SECOND = 0
    concert = concert_on_sale(queue_active_size=10)

    answers = [queue_enter(user_id=user_id, concert_id=concert.pk) for user_id in range(1, 13)]

    assert [a.status for a in answers] == [QueueTokenStatus.ACTIVE] * 10 + [QueueTokenStatus.WAITING] * 2

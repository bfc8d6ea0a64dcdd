"""The organizer's settings of a waiting room outlive a Redis restart (issue 13 item 6): the
pause and the policies live in PostgreSQL, and Redis's copy is seeded from them when missing.
A restart is simulated by deleting this run's Redis keys (queueing.tests.helpers.redis_restart)."""

import pytest

from accounts.tests.factories import UserFactory
from concerts.models import Concert
from queueing.selectors import QueueTokenStatus, concert_queue_policy_cache_clear, queue_stats
from queueing.services import queue_enter, queue_promote, queue_promote_all, queue_set_paused
from queueing.tests.factories import concert_on_sale
from queueing.tests.helpers import redis_restart

pytestmark = pytest.mark.django_db


def _enter(concert: Concert):
    return queue_enter(user_id=UserFactory().pk, concert_id=concert.pk)


def test_a_paused_room_stays_paused_after_a_redis_restart(clock):
    concert = concert_on_sale(queue_active_size=5)
    queue_set_paused(concert_id=concert.pk, paused=True)
    assert _enter(concert).status is QueueTokenStatus.WAITING

    assert redis_restart() > 0
    concert_queue_policy_cache_clear()  # another web process, or this one a moment later

    first = _enter(concert)  # the first script after the restart seeds the pause again
    queue_promote_all()
    queue_promote(concert_id=concert.pk)
    second = _enter(concert)

    assert (first.status, second.status) == (QueueTokenStatus.WAITING, QueueTokenStatus.WAITING)
    assert queue_stats(concert_id=concert.pk).active == 0
    assert queue_stats(concert_id=concert.pk).paused
    concert.refresh_from_db()
    assert concert.queue_paused

    queue_set_paused(concert_id=concert.pk, paused=False)
    queue_promote(concert_id=concert.pk)
    assert queue_stats(concert_id=concert.pk).active == 2
    concert.refresh_from_db()
    assert not concert.queue_paused


def test_a_promotion_tick_after_a_restart_seeds_the_pause_too(clock):
    concert = concert_on_sale(queue_active_size=5)
    queue_set_paused(concert_id=concert.pk, paused=True)
    redis_restart()
    queue_promote_all()  # the beat's tick comes first

    assert _enter(concert).status is QueueTokenStatus.WAITING


def test_a_stale_copy_of_the_policy_does_not_undo_a_pause(clock):
    """Entering with the concert's policy as this process read it before the pause (it keeps it
    QUEUE_POLICY_CACHE_SECONDS) must not resume admission."""
    concert = concert_on_sale(queue_active_size=5)
    _enter(concert)  # caches the policy (not paused) in this process
    queue_set_paused(concert_id=concert.pk, paused=True)
    Concert.objects.filter(pk=concert.pk).update(queue_paused=False)  # what a stale copy says
    assert _enter(concert).status is QueueTokenStatus.WAITING


def test_the_active_size_and_admission_cap_survive_a_redis_restart(clock):
    concert = concert_on_sale(queue_active_size=3, admissions_per_minute=2)
    _enter(concert)
    redis_restart()

    fans = [_enter(concert) for _ in range(4)]
    queue_promote(concert_id=concert.pk)

    # The cap (2 within a minute) and then the active size (3) come from the concert.
    assert [f.status for f in fans] == [QueueTokenStatus.ACTIVE] * 2 + [QueueTokenStatus.WAITING] * 2
    clock.advance(61)
    queue_promote(concert_id=concert.pk)
    assert queue_stats(concert_id=concert.pk).active == 3

"""core.redis.redis_writes_on_commit: a step's Redis writes after its commit, in one round trip."""

import logging

import pytest
from django.db import transaction

from core.redis import redis_client, redis_key, redis_writes_on_commit
from queueing.tests.helpers import count_redis_round_trips

pytestmark = pytest.mark.django_db


def key(name: str) -> str:
    return redis_key("test-writes", name)


def test_the_writes_go_after_the_commit_in_one_round_trip(django_capture_on_commit_callbacks):
    def write(pipe):
        pipe.set(key("a"), "1")
        pipe.incrby(key("b"), 5)
        pipe.hincrbyfloat(key("c"), "field", 2)

    with django_capture_on_commit_callbacks() as after_commit:
        redis_writes_on_commit(write)
    assert redis_client().get(key("a")) is None  # not before the commit

    with count_redis_round_trips() as round_trips:
        for callback in after_commit:
            callback()

    assert round_trips.count == 1
    assert redis_client().mget([key("a"), key("b")]) == [b"1", b"5"]
    assert redis_client().hget(key("c"), "field") == b"2"


@pytest.mark.django_db(transaction=True)
def test_nothing_is_written_when_the_transaction_rolls_back():
    with pytest.raises(RuntimeError), transaction.atomic():
        redis_writes_on_commit(lambda pipe: pipe.set(key("rolled-back"), "1"))
        raise RuntimeError

    assert redis_client().get(key("rolled-back")) is None


@pytest.mark.django_db(transaction=True)
def test_a_refused_write_is_logged_not_raised_and_the_others_are_written(caplog):
    def write(pipe):
        pipe.set(key("kept"), "1")
        pipe.incr(key("kept"))
        pipe.hset(key("kept"), "field", "x")  # WRONGTYPE: the key holds a string

    with caplog.at_level(logging.ERROR, logger="core.redis"), transaction.atomic():
        redis_writes_on_commit(write)

    assert redis_client().get(key("kept")) == b"2"
    assert "after-commit Redis writes" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_failing_write_does_not_stop_the_rest_of_the_after_commit_work():
    after = []

    def write(pipe):
        raise ValueError("a bug in what the step writes")

    with transaction.atomic():
        redis_writes_on_commit(write)
        transaction.on_commit(lambda: after.append("ran"))

    assert after == ["ran"]

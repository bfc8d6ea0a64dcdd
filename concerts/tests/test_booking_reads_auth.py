"""The booking path's hot calls (a concert's shows, a show's seat map, a hold) know the caller from
the API key's Redis cache entry, as the queue paths do: no SQL for the key, and log-out and expiry
hold. The key's entry and the queue token's place are read in one Redis round trip
(queueing.authentication), and the booking guard's answers stay what they were."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import user_api_key, user_api_key_revoke
from queueing.services import queue_enter
from queueing.tests.helpers import count_redis_round_trips
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admitted(clock):
    show = make_show()
    fan = fan_with_points(100_000)
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Token {user_api_key(user=fan)}",
        HTTP_X_QUEUE_TOKEN=queue_enter(user_id=fan.pk, concert_id=show.concert_id).token,
    )
    return show, fan, api


def _reads(show, api):
    return [api.get(f"/api/v1/concerts/{show.concert_id}/shows"), api.get(f"/api/v1/shows/{show.pk}/seats")]


def _hold(show, api, label="B-1"):
    return api.post("/api/v1/reservations", {"show_id": show.pk, "seat_ids": seats_of(show, label)}, format="json")


def test_shows_and_seats_read_the_key_from_its_cache_entry_not_sql(admitted):
    show, _, api = admitted
    _reads(show, api)  # as after log-in: the key's entry is cached

    with CaptureQueriesContext(connection) as queries:
        answers = _reads(show, api)

    assert [answer.status_code for answer in answers] == [200, 200]
    assert not [query for query in queries.captured_queries if "authtoken_token" in query["sql"]]
    assert not [query for query in queries.captured_queries if '"accounts_user"' in query["sql"]]


def test_a_hold_reads_the_key_from_its_cache_entry_not_sql(admitted, django_capture_on_commit_callbacks):
    show, fan, api = admitted
    _reads(show, api)  # as after log-in: the key's entry is cached

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        held = _hold(show, api)

    assert held.status_code == 201, held.json()
    assert held.json()["seats"][0]["label"] == "B-1"
    assert fan.reservations.get().pk == held.json()["id"]
    assert not [query for query in queries.captured_queries if "authtoken_token" in query["sql"]]


@pytest.mark.security
def test_a_logged_out_expired_or_malformed_key_is_refused_there_too(
    admitted, clock, settings, django_capture_on_commit_callbacks
):
    show, fan, api = admitted
    assert [answer.status_code for answer in _reads(show, api)] == [200, 200]

    clock.advance(timedelta(seconds=settings.API_KEY_LIFETIME_SECONDS + 1))
    expired = [*_reads(show, api), _hold(show, api)]
    clock.advance(-timedelta(seconds=settings.API_KEY_LIFETIME_SECONDS + 1))
    with django_capture_on_commit_callbacks(execute=True):  # the cache entry goes when the log-out commits
        user_api_key_revoke(user=fan)
    logged_out = [*_reads(show, api), _hold(show, api)]
    api.credentials(HTTP_AUTHORIZATION="Token")
    malformed = [*_reads(show, api), _hold(show, api)]

    for answers in (expired, logged_out, malformed):
        assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(401, "NOT_AUTHENTICATED")] * 3
        assert answers[0]["WWW-Authenticate"] == "Token"
    assert not fan.reservations.exists()


def test_the_key_and_the_queue_token_are_read_in_one_redis_round_trip(admitted):
    show, _, api = admitted
    other = fan_with_points(100_000)
    queue_enter(user_id=other.pk, concert_id=show.concert_id)
    taken = _hold(show, api)
    _reads(show, api)  # as after log-in: the key's entry is cached

    with count_redis_round_trips() as reads:
        answers = _reads(show, api)
    with count_redis_round_trips() as refused_hold:
        refused = _hold(show, api)  # the fan's own seat: already held

    assert taken.status_code == 201 and [answer.status_code for answer in answers] == [200, 200]
    assert reads.count == 4  # each read: the key with the token's place, then the seat map's version
    assert (refused.status_code, refused_hold.count) == (409, 1)


def _client(fan, token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {user_api_key(user=fan)}", HTTP_X_QUEUE_TOKEN=token)
    return api


@pytest.mark.security
def test_another_fans_active_token_or_another_concerts_is_no_pass(admitted):
    show, fan, _ = admitted
    active_token = queue_enter(user_id=fan.pk, concert_id=show.concert_id).token  # the fan's, as held
    other_concert_token = queue_enter(user_id=fan.pk, concert_id=make_show().concert_id).token
    borrower = fan_with_points(100_000)

    for api in (_client(borrower, active_token), _client(fan, other_concert_token)):
        answers = [*_reads(show, api), _hold(show, api)]
        assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(403, "QUEUE_NOT_ACTIVE")] * 3
        assert [(answer.json()["status"], answer.json()["position"]) for answer in answers] == [(None, None)] * 3
    assert not fan.reservations.exists() and not borrower.reservations.exists()


def test_a_waiting_fan_is_told_its_place(clock):
    show = make_show()
    show.concert.queue_active_size = 1
    show.concert.save(update_fields=["queue_active_size"])
    queue_enter(user_id=fan_with_points(100_000).pk, concert_id=show.concert_id)  # takes the one place
    waiting = fan_with_points(100_000)
    api = _client(waiting, queue_enter(user_id=waiting.pk, concert_id=show.concert_id).token)

    answers = [*_reads(show, api), _hold(show, api)]

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(403, "QUEUE_NOT_ACTIVE")] * 3
    assert [(answer.json()["status"], answer.json()["position"]) for answer in answers] == [("WAITING", 1)] * 3

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.authentication import api_key_forget
from accounts.services import user_api_key
from accounts.tests.factories import UserFactory
from core.clock import clock as the_clock
from queueing.selectors import queue_stats
from queueing.services import queue_enter, queue_promote, queue_remove, queue_set_paused
from queueing.session import queue_token_from_session
from queueing.tests.factories import ConcertFactory, ShowFactory, concert_on_sale
from queueing.tests.helpers import count_redis_round_trips, room_state

pytestmark = [pytest.mark.django_db, pytest.mark.urls("queueing.tests.urls")]

FIELDS = {
    "token",
    "concert_id",
    "status",
    "position",
    "ahead",
    "behind",
    "estimated_wait_seconds",
    "estimated_wait_low_seconds",
    "estimated_wait_high_seconds",
    "active_until",
    "active_seconds_left",
    "refresh_after_seconds",
    "seconds_until_open",
}


def fan(*, signed: bool = True) -> APIClient:
    """A logged-in fan's client: the API key log-in issues, or (signed=False) a plain key such as
    the admin makes."""
    user = UserFactory()
    client = APIClient()
    client.api_key = user_api_key(user=user) if signed else Token.objects.create(user=user).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {client.api_key}")
    client.user = user
    return client


def enter(client: APIClient, concert_id: int):
    return client.post(f"/api/v1/concerts/{concert_id}/queue-tokens")


def poll(client: APIClient, token: str | None):
    headers = {"HTTP_X_QUEUE_TOKEN": token} if token is not None else {}
    return client.get("/api/v1/queue-tokens/current", **headers)


def test_enter_201_then_200_with_the_same_token_and_place(clock):
    concert = concert_on_sale(queue_active_size=1, session_minutes=20)
    first, second = fan(), fan()

    active = enter(first, concert.pk)
    waiting = enter(second, concert.pk)
    again = enter(second, concert.pk)

    assert active.status_code == 201
    body = active.json()
    assert set(body) == FIELDS
    assert body["status"] == "ACTIVE" and body["concert_id"] == concert.pk
    assert body["active_until"].endswith("+09:00")  # ISO 8601, Asia/Seoul
    assert body["active_seconds_left"] == 20 * 60
    assert waiting.status_code == 201
    assert waiting.json()["status"] == "WAITING"
    assert (waiting.json()["position"], waiting.json()["ahead"]) == (1, 0)
    assert waiting.json()["estimated_wait_seconds"] > 0
    assert waiting.json()["refresh_after_seconds"] > 0
    assert again.status_code == 200
    assert again.json()["token"] == waiting.json()["token"]
    assert again.json()["position"] == 1


def test_enter_needs_login():
    concert = concert_on_sale()

    response = APIClient().post(f"/api/v1/concerts/{concert.pk}/queue-tokens")

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_enter_when_booking_is_not_open_is_booking_closed(clock):
    concert = ConcertFactory()
    ShowFactory(concert=concert, booking_opens_at=clock.now() + timedelta(hours=1))

    response = enter(fan(), concert.pk)

    assert response.status_code == 409
    assert response.json()["code"] == "BOOKING_CLOSED"
    assert queue_stats(concert_id=concert.pk).waiting == 0


def test_enter_unknown_concert_is_404():
    response = enter(fan(), 999_999)

    assert response.status_code == 404


def test_queue_full_is_503_with_retry_after_and_adds_nobody(settings):
    concert = concert_on_sale(queue_active_size=1, queue_max_waiting=2)
    for _ in range(3):
        assert enter(fan(), concert.pk).status_code == 201

    response = enter(fan(), concert.pk)

    assert response.status_code == 503
    assert response.json()["code"] == "QUEUE_FULL"
    assert response["Retry-After"] == str(settings.QUEUE_FULL_RETRY_AFTER_SECONDS)
    assert queue_stats(concert_id=concert.pk).waiting == 2


def test_poll_shows_where_i_stand_and_moves_up():
    concert = concert_on_sale(queue_active_size=1)
    first, second, third = fan(), fan(), fan()
    tokens = [enter(client, concert.pk).json()["token"] for client in (first, second, third)]

    assert poll(third, tokens[2]).json()["position"] == 2
    assert first.delete("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=tokens[0]).status_code == 204

    assert poll(second, tokens[1]).json()["status"] == "ACTIVE"  # the freed place, at once
    moved = poll(third, tokens[2]).json()
    assert (moved["status"], moved["position"], moved["ahead"]) == ("WAITING", 1, 0)


def test_poll_costs_no_sql_and_one_redis_round_trip(settings):
    concert = concert_on_sale(queue_active_size=1)
    enter(fan(), concert.pk)
    client = fan()
    token = enter(client, concert.pk).json()["token"]
    poll(client, token)

    with CaptureQueriesContext(connection) as queries, count_redis_round_trips() as round_trips:
        response = poll(client, token)

    assert response.status_code == 200
    assert response.json()["position"] == 1
    assert len(queries) == 0, [q["sql"] for q in queries]
    # On a Redis Cluster the key's entry (plain Redis) and the poll script (the cluster) are two.
    assert round_trips.count == (2 if settings.REDIS_CLUSTER_URL else 1)


def test_poll_with_a_cold_auth_cache_looks_the_api_key_up_once():
    concert = concert_on_sale()
    client = fan()
    token = enter(client, concert.pk).json()["token"]
    api_key_forget(client.api_key)  # entering cached it; as after QUEUE_AUTH_CACHE_SECONDS

    with CaptureQueriesContext(connection) as queries:
        assert poll(client, token).status_code == 200
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert poll(client, token).status_code == 200
    assert len(queries) == 0


@pytest.mark.parametrize(
    "forged",
    [
        "not-a-token",
        "",
        "1.short",
        "1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # well-formed, unknown
        "../../etc/passwd",
        "9" * 30 + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_forged_token_is_token_not_found(forged):
    concert = concert_on_sale()
    client = fan()
    real = enter(client, concert.pk).json()["token"]
    guessed = forged.replace("1.", f"{concert.pk}.", 1) if forged.startswith("1.") else forged

    response = poll(client, guessed)

    assert guessed != real
    assert response.status_code == 404
    assert response.json()["code"] == "TOKEN_NOT_FOUND"


def test_missing_token_header_is_token_not_found():
    response = poll(fan(), None)

    assert response.status_code == 404
    assert response.json()["code"] == "TOKEN_NOT_FOUND"


def test_another_users_token_is_token_not_found_and_cannot_be_deleted():
    concert = concert_on_sale()
    owner, other = fan(), fan()
    token = enter(owner, concert.pk).json()["token"]

    assert poll(other, token).status_code == 404
    assert poll(other, token).json()["code"] == "TOKEN_NOT_FOUND"
    response = other.delete("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token)
    assert response.status_code == 404
    assert poll(owner, token).status_code == 200


def test_left_removed_or_timed_out_token_is_token_not_found(clock):
    concert = concert_on_sale(queue_active_size=3, session_minutes=20)
    left, removed, timed_out = fan(), fan(), fan()
    tokens = [enter(client, concert.pk).json()["token"] for client in (left, removed, timed_out)]

    left.delete("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=tokens[0])
    queue_remove(user_id=removed.user.pk, concert_id=concert.pk, reason="paid")
    clock.advance(timedelta(minutes=20))

    for client, token in zip((left, removed, timed_out), tokens, strict=True):
        response = poll(client, token)
        assert response.status_code == 404
        assert response.json()["code"] == "TOKEN_NOT_FOUND"
    queue_promote(concert_id=concert.pk)
    assert poll(timed_out, tokens[2]).status_code == 404


def test_poll_without_login_is_401_and_a_bad_api_key_too():
    concert = concert_on_sale()
    token = enter(fan(), concert.pk).json()["token"]

    anonymous = APIClient().get("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token)
    bad_key = APIClient().get(
        "/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token, HTTP_AUTHORIZATION="Token " + "f" * 40
    )

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "NOT_AUTHENTICATED"
    assert bad_key.status_code == 401
    assert bad_key.json()["code"] == "NOT_AUTHENTICATED"


def test_session_login_works_and_the_token_is_kept_in_the_session():
    concert = concert_on_sale()
    user = UserFactory()
    client = APIClient()
    client.force_login(user)

    entered = enter(client, concert.pk)
    token = entered.json()["token"]

    assert entered.status_code == 201
    assert queue_token_from_session(session=client.session, concert_id=concert.pk) == token
    assert poll(client, token).json()["status"] == "ACTIVE"
    assert client.delete("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token).status_code == 204


def test_paused_room_keeps_fans_waiting(clock):
    concert = concert_on_sale(queue_active_size=2)
    queue_set_paused(concert_id=concert.pk, paused=True)

    body = enter(fan(), concert.pk).json()

    assert (body["status"], body["position"]) == ("WAITING", 1)
    assert the_clock.now() == clock.now()


def test_token_and_session_callers_get_the_same_answer():
    """API-key callers are served by the lean path, session callers by DRF: same body."""
    concert = concert_on_sale(queue_active_size=1)
    enter(fan(), concert.pk)
    by_key = fan()
    by_session = APIClient()
    by_session.force_login(by_key.user)

    entered = enter(by_key, concert.pk).json()
    again = by_session.post(f"/api/v1/concerts/{concert.pk}/queue-tokens")

    assert again.status_code == 200
    assert again.json() == entered
    assert poll(by_session, entered["token"]).json() == poll(by_key, entered["token"]).json()


def test_malformed_authorization_header_is_401():
    concert = concert_on_sale()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token two words")

    assert enter(client, concert.pk).status_code == 401
    assert poll(client, "1.x").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert enter(client, concert.pk).json()["code"] == "NOT_AUTHENTICATED"


def low_enter_limits(settings, *, ip: str = "100000/min", user: str = "100000/min") -> None:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "queue_enter_ip": ip, "queue_enter_user": user}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.mark.parametrize("by_session", [False, True])
def test_entering_past_the_per_user_limit_is_429_with_retry_after(settings, clock, by_session):
    low_enter_limits(settings, user="3/min")
    concert = concert_on_sale()
    client = fan()
    if by_session:  # served by DRF; an API key is served by the lean path: the same limit
        client.credentials()
        client.force_login(client.user)
    other = fan()

    answers = [enter(client, concert.pk) for _ in range(4)]

    assert [a.status_code for a in answers] == [201, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["retry_after_seconds"] == int(refused["Retry-After"])
    assert enter(other, concert.pk).status_code == 201  # another user is not limited
    clock.advance(timedelta(seconds=int(refused["Retry-After"])))
    assert enter(client, concert.pk).status_code == 200  # a new window


def test_entering_past_the_per_ip_limit_is_429_with_retry_after(settings, clock):
    low_enter_limits(settings, ip="2/min")
    concert = concert_on_sale()

    answers = [enter(fan(), concert.pk) for _ in range(3)]
    elsewhere = fan().post(f"/api/v1/concerts/{concert.pk}/queue-tokens", REMOTE_ADDR="10.9.8.7")

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[-1].json()["code"] == "RATE_LIMITED"
    assert int(answers[-1]["Retry-After"]) >= 1
    assert elsewhere.status_code == 201
    assert queue_stats(concert_id=concert.pk).active + queue_stats(concert_id=concert.pk).waiting == 3


def test_enter_limits_count_per_concert(settings, clock):  # one window of the limits
    low_enter_limits(settings, user="2/min")
    concert, other_concert = concert_on_sale(), concert_on_sale()
    client = fan()

    answers = [enter(client, concert.pk) for _ in range(3)]
    elsewhere = enter(client, other_concert.pk)

    assert [a.status_code for a in answers] == [201, 200, 429]
    assert elsewhere.status_code == 201  # the counters are the concert's (one Redis Cluster slot)


@pytest.mark.parametrize("signed", [True, False])
def test_enter_resolves_the_key_before_its_script(signed):
    """Whatever the key, its cached user id is read first, then the ENTER script runs."""
    concert = concert_on_sale(queue_active_size=1)
    client = fan(signed=signed)
    enter(client, concert.pk)  # fills the API key's Redis cache

    with count_redis_round_trips() as round_trips:
        response = enter(client, concert.pk)

    assert response.status_code == 200
    assert round_trips.count == 2  # the key's cached user id, then the ENTER script


def revoke(client: APIClient, how: str) -> None:
    """Make a fan's API key dead, as the admin does, after its cache entry lapsed."""
    if how == "token deleted":
        Token.objects.filter(key=client.api_key).delete()
    else:
        type(client.user).objects.filter(pk=client.user.pk).update(is_active=False)
    api_key_forget(client.api_key)  # as after QUEUE_AUTH_CACHE_SECONDS


@pytest.mark.parametrize("served_by", ["lean path", "DRF"])
@pytest.mark.parametrize("how", ["token deleted", "user deactivated"])
def test_a_revoked_key_cannot_enter(how, served_by):
    concert = concert_on_sale(queue_active_size=1)
    client = fan()
    revoke(client, how)

    prefix = "/drf" if served_by == "DRF" else "/api/v1"
    response = client.post(f"{prefix}/concerts/{concert.pk}/queue-tokens")

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"
    assert queue_stats(concert_id=concert.pk).active == 0
    assert room_state(concert.pk).users == {}
    # a fan entering next gets the free place
    assert enter(fan(), concert.pk).json()["status"] == "ACTIVE"


def test_entering_by_drf_or_the_lean_path_gives_the_same_answer():
    concert = concert_on_sale(queue_active_size=1)
    enter(fan(), concert.pk)
    client = fan()

    by_drf = client.post(f"/drf/concerts/{concert.pk}/queue-tokens")
    by_lean_path = enter(client, concert.pk)

    assert (by_drf.status_code, by_lean_path.status_code) == (201, 200)
    assert by_drf.json() == by_lean_path.json()
    assert by_drf.json()["position"] == 1


def test_a_revoked_signed_key_leaves_the_token_its_user_already_held():
    concert = concert_on_sale(queue_active_size=1)
    client = fan()
    token = enter(client, concert.pk).json()["token"]
    revoke(client, "token deleted")

    assert enter(client, concert.pk).status_code == 401
    assert room_state(concert.pk).users == {client.user.pk: token}


def test_an_unknown_key_naming_a_real_user_is_looked_up_and_refused():
    concert = concert_on_sale()
    client = fan()
    user_part, _random_part = client.api_key.split(".")
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_part}.{'A' * 28}")

    with CaptureQueriesContext(connection) as queries:
        response = enter(client, concert.pk)

    assert response.status_code == 401
    assert len(queries) == 1  # the key is looked up (and unknown)
    assert room_state(concert.pk).users == {}


def test_pre_queue_answer_over_http_the_same_for_both_paths(clock):
    concert = ConcertFactory(prequeue_minutes=30)
    ShowFactory(concert=concert, booking_opens_at=clock.now() + timedelta(minutes=10))
    by_key = fan()
    by_session = APIClient()
    by_session.force_login(by_key.user)

    entered = enter(by_key, concert.pk)
    again = by_session.post(f"/api/v1/concerts/{concert.pk}/queue-tokens")
    body = entered.json()

    assert entered.status_code == 201 and again.status_code == 200
    assert again.json() == body
    assert set(body) == FIELDS
    assert body["status"] == "PREQUEUE"
    assert (body["position"], body["ahead"], body["estimated_wait_seconds"]) == (None, None, None)
    assert body["seconds_until_open"] == 600
    assert body["refresh_after_seconds"] > 0
    assert poll(by_key, body["token"]).json() == poll(by_session, body["token"]).json() == body


def test_booking_closed_tells_when_the_pre_queue_opens(clock):
    concert = ConcertFactory(prequeue_minutes=30)
    ShowFactory(concert=concert, booking_opens_at=clock.now() + timedelta(hours=1))

    response = enter(fan(), concert.pk)

    assert response.status_code == 409
    assert response.json()["code"] == "BOOKING_CLOSED"
    opens = datetime.fromisoformat(response.json()["prequeue_opens_at"])
    assert opens == clock.now() + timedelta(minutes=30)
    assert response.json()["prequeue_opens_at"].endswith("+09:00")


def test_after_log_in_even_the_first_poll_needs_no_sql(django_capture_on_commit_callbacks):
    from accounts.services import user_login_token
    from accounts.tests.factories import DEFAULT_PASSWORD

    concert = concert_on_sale()
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):  # log-in caches the key when it commits
        api_key = user_login_token(phone=user.phone, password=DEFAULT_PASSWORD)
    token = queue_enter(user_id=user.pk, concert_id=concert.pk).token  # e.g. through the fan pages
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key}")

    with CaptureQueriesContext(connection) as queries:
        assert poll(client, token).status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]

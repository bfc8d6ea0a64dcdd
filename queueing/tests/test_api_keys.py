"""API keys: what log-in issues, how they end (log-out, a new log-in, a password change, their
lifetime), and that the queue endpoints, which trust a Redis cache of keys, see the end at once."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.authentication import api_key_new
from accounts.services import user_api_key, user_login_token
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from queueing.tests.factories import concert_on_sale
from queueing.tests.helpers import room_state

pytestmark = pytest.mark.django_db


def test_a_new_key_fits_drf_token_and_is_never_the_same():
    key = api_key_new(user_id=4242)

    assert key.startswith("4242.")
    assert len(key) <= Token._meta.get_field("key").max_length
    assert api_key_new(user_id=4242) != key


def test_the_longest_user_id_still_gets_a_key_that_fits():
    assert len(api_key_new(user_id=9_999_999_999_999)) <= Token._meta.get_field("key").max_length


def log_in(phone: str, password: str = DEFAULT_PASSWORD):
    return APIClient().post("/api/v1/auth/token", {"phone": phone, "password": password}, format="json")


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def answers(key: str, concert_id: int, token: str | None) -> dict[str, int]:
    """What the key gets from a DRF endpoint (the wallet), the lean poll and the lean enter."""
    client = key_client(key)
    return {
        "wallet": client.get("/api/v1/wallet").status_code,
        "poll": client.get("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token or "").status_code,
        "enter": client.post(f"/api/v1/concerts/{concert_id}/queue-tokens").status_code,
    }


REFUSED = {"wallet": 401, "poll": 401, "enter": 401}


@pytest.mark.security
def test_a_forged_key_naming_a_user_neither_enters_nor_uses_up_that_users_limits(settings):
    """Keys were signed with SECRET_KEY and entering trusted the signature before the key was
    looked up: with the key known, 31 forged calls locked the victim out with 429."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "queue_enter_user": "30/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    concert = concert_on_sale(queue_active_size=1)
    victim = UserFactory()
    victims_key = user_api_key(user=victim)
    forged = key_client(api_key_new(user_id=victim.pk))  # well formed, never issued

    refused = [forged.post(f"/api/v1/concerts/{concert.pk}/queue-tokens").status_code for _ in range(31)]

    assert refused == [401] * 31
    assert room_state(concert.pk).users == {}
    entered = key_client(victims_key).post(f"/api/v1/concerts/{concert.pk}/queue-tokens")
    assert entered.status_code == 201
    assert entered.json()["status"] == "ACTIVE"


@pytest.mark.security
def test_log_out_by_the_api_ends_the_key_everywhere_at_once(django_capture_on_commit_callbacks):
    concert = concert_on_sale()
    user = UserFactory()
    key = log_in(user.phone).json()["token"]
    token = key_client(key).post(f"/api/v1/concerts/{concert.pk}/queue-tokens").json()["token"]
    assert answers(key, concert.pk, token) == {"wallet": 200, "poll": 200, "enter": 200}  # all cached now

    with django_capture_on_commit_callbacks(execute=True):
        logged_out = key_client(key).delete("/api/v1/auth/token")

    assert logged_out.status_code == 204
    assert answers(key, concert.pk, token) == REFUSED
    assert not Token.objects.filter(user=user).exists()
    assert APIClient().delete("/api/v1/auth/token").status_code == 401


@pytest.mark.security
def test_a_new_log_in_issues_a_new_key_and_ends_the_previous_one(django_capture_on_commit_callbacks):
    concert = concert_on_sale()
    user = UserFactory()
    first = log_in(user.phone).json()["token"]
    assert answers(first, concert.pk, None)["wallet"] == 200

    with django_capture_on_commit_callbacks(execute=True):
        second = log_in(user.phone).json()["token"]

    assert second != first
    assert answers(first, concert.pk, None) == REFUSED
    assert key_client(second).get("/api/v1/wallet").status_code == 200


@pytest.mark.security
def test_logging_out_of_the_pages_ends_the_api_key(django_capture_on_commit_callbacks):
    concert = concert_on_sale()
    user = UserFactory()
    key = user_login_token(phone=user.phone, password=DEFAULT_PASSWORD)
    pages = Client()
    pages.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        assert pages.post("/logout/").status_code == 302

    assert answers(key, concert.pk, None) == REFUSED


@pytest.mark.security
def test_a_password_change_ends_the_api_key(django_capture_on_commit_callbacks):
    concert = concert_on_sale()
    user = UserFactory()
    key = user_login_token(phone=user.phone, password=DEFAULT_PASSWORD)

    with django_capture_on_commit_callbacks(execute=True):
        user.set_password("another-long-password-7")
        user.save()

    assert answers(key, concert.pk, None) == REFUSED
    assert log_in(user.phone, "another-long-password-7").status_code == 200


@pytest.mark.security
def test_a_key_stops_working_after_its_lifetime_cached_or_not(settings, clock):
    settings.API_KEY_LIFETIME_SECONDS = 3600
    concert = concert_on_sale()
    user = UserFactory()
    key = user_login_token(phone=user.phone, password=DEFAULT_PASSWORD)  # cached at log-in
    clock.advance(3599)
    assert answers(key, concert.pk, None) == {"wallet": 200, "poll": 404, "enter": 201}

    clock.advance(2)

    assert answers(key, concert.pk, None) == REFUSED
    assert log_in(user.phone).status_code == 200  # log in again for a new key


@pytest.mark.urls("queueing.tests.urls")
@pytest.mark.parametrize("revoke", ["token deleted", "user deactivated"])
def test_revoking_a_key_takes_effect_at_once_not_when_its_cache_lapses(revoke, django_capture_on_commit_callbacks):
    concert = concert_on_sale()
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_api_key(user=user)}")
    token = client.post(f"/api/v1/concerts/{concert.pk}/queue-tokens").json()["token"]

    with django_capture_on_commit_callbacks(execute=True):
        if revoke == "token deleted":
            Token.objects.filter(user=user).delete()
        else:
            user.is_active = False
            user.save()

    assert client.get("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token).status_code == 401
    assert client.post(f"/api/v1/concerts/{concert.pk}/queue-tokens").status_code == 401

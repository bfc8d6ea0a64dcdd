"""Signed API keys: what log-in issues and what entering the room reads without I/O."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.services import user_api_key, user_login_token
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from queueing.authentication import api_key_local_cache_clear, api_key_new, api_key_signed_user_id
from queueing.tests.factories import concert_on_sale


def test_a_new_key_names_its_user_and_fits_drf_token():
    key = api_key_new(user_id=4242)

    assert api_key_signed_user_id(key) == 4242
    assert len(key) <= Token._meta.get_field("key").max_length
    assert api_key_new(user_id=4242) != key  # random part: a re-issued key differs


def test_the_longest_user_id_still_gets_a_signed_key():
    assert api_key_signed_user_id(api_key_new(user_id=9_999_999_999)) == 9_999_999_999


@pytest.mark.parametrize(
    "tamper",
    [
        lambda key: "1" + key,  # another user id, same signature
        lambda key: key[:-1] + ("B" if key[-1] == "A" else "A"),  # signature changed
        lambda key: key.rpartition(".")[0],  # signature cut off
        lambda key: "x" + key,  # user id not a number
        lambda key: "",
        lambda key: "f" * 40,  # a plain DRF key
    ],
)
def test_a_tampered_or_plain_key_names_nobody(tamper):
    assert api_key_signed_user_id(tamper(api_key_new(user_id=7))) is None


def test_a_key_signed_with_another_secret_names_nobody(settings):
    key = api_key_new(user_id=7)
    settings.SECRET_KEY = "another-secret-" + "x" * 40

    assert api_key_signed_user_id(key) is None


@pytest.mark.django_db
def test_log_in_issues_a_signed_key_once():
    user = UserFactory()

    key = user_login_token(phone=user.phone, password=DEFAULT_PASSWORD)

    assert api_key_signed_user_id(key) == user.pk
    assert user_api_key(user=user) == key
    assert Token.objects.get(user=user).key == key


@pytest.mark.django_db
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
    api_key_local_cache_clear()  # as in another web process (each keeps its memo 30 s at most)

    assert client.get("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token).status_code == 401
    assert client.post(f"/api/v1/concerts/{concert.pk}/queue-tokens").status_code == 401

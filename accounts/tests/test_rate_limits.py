import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings, clock):
    """Low rates. The limits count in fixed windows of the injectable clock: frozen, so that no
    test straddles two windows (it did, now and then: a count restarted mid-test)."""
    rates = {"signup_ip": "3/min", "login_ip": "5/min", "login_user": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def signup(api, n):
    body = {"name": "팬", "phone": f"010-7777-{n:04d}", "password": "correct-horse-42", "pin": "402913"}
    return api.post("/api/v1/users", body)


def test_signup_is_limited_per_address_with_retry_after(low_rates):
    api = APIClient()
    assert [signup(api, n).status_code for n in range(3)] == [201, 201, 201]

    refused = signup(api, 3)

    assert refused.status_code == 429
    assert refused.json()["code"] == "RATE_LIMITED"
    assert int(refused["Retry-After"]) > 0
    other_address = APIClient(REMOTE_ADDR="10.1.2.3")
    assert signup(other_address, 4).status_code == 201


def test_login_is_limited_per_phone_tried_whatever_the_address(low_rates):
    UserFactory(phone="010-5555-0001")
    answers = [
        APIClient(REMOTE_ADDR=f"10.0.0.{n}").post("/api/v1/auth/token", {"phone": "01055550001", "password": "x"})
        for n in range(3)
    ]

    assert [a.status_code for a in answers] == [401, 401, 429]
    assert answers[-1].json()["code"] == "RATE_LIMITED"
    other_phone = APIClient(REMOTE_ADDR="10.0.0.9").post(
        "/api/v1/auth/token", {"phone": "01055550002", "password": "x"}
    )
    assert other_phone.status_code == 401


def test_login_is_limited_per_address(low_rates):
    api = APIClient()
    codes = [
        api.post("/api/v1/auth/token", {"phone": f"010-5555-{n:04d}", "password": "x"}).status_code for n in range(6)
    ]

    assert codes == [401] * 5 + [429]


def test_with_redis_down_the_limits_let_requests_through(low_rates, settings):
    dead_redis = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    UserFactory(phone="010-5555-0001")

    with override_settings(CACHES=dead_redis):  # nothing listens on port 1
        signups = [signup(APIClient(), n).status_code for n in range(5)]
        login = APIClient().post("/api/v1/auth/token", {"phone": "010-5555-0001", "password": DEFAULT_PASSWORD})

    assert signups == [201] * 5
    assert login.status_code == 200

"""Log-in and signup limits: every way in (the API, the fan pages, the admin) shares one count per
address and per account, and an account whose log-ins keep failing is slowed down, not locked."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.security]

PHONE = "010-5555-0001"


@pytest.fixture
def rates(settings, clock):
    """Low rates of the signup and log-in limits; returns a setter for other values. The limits
    count in fixed windows of the injectable clock: frozen, so that no test straddles two windows
    (two tests failed together once when the minute turned mid-test)."""

    def set_rates(**overrides: str) -> None:
        rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **overrides}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    return set_rates


def api_log_in(phone, password="wrong-password", address="10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/token", {"phone": phone, "password": password}, format="json"
    )


def page_log_in(phone, password="wrong-password", address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post("/login/", {"phone": phone, "password": password})


def admin_log_in(phone, password="wrong-password", address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post("/admin/login/", {"username": phone, "password": password})


def test_a_phone_sent_as_a_json_number_counts_against_the_account(rates):
    """It was skipped by the per-phone limit: unlimited guesses with {"phone": 1055550001}."""
    rates(login_user="2/min")
    UserFactory(phone=PHONE)

    answers = [api_log_in(1055550001, address=f"10.0.0.{n}") for n in range(3)]

    assert [a.status_code for a in answers] == [401, 401, 429]
    assert answers[-1].json()["code"] == "RATE_LIMITED" and int(answers[-1]["Retry-After"]) > 0


def test_the_api_the_pages_and_the_admin_share_the_per_account_limit(rates):
    rates(login_user="3/min")
    UserFactory(phone=PHONE, is_staff=True)

    assert api_log_in("01055550001", address="10.0.0.1").status_code == 401
    assert page_log_in("010 5555 0001", address="10.0.0.2").status_code == 401
    assert admin_log_in(PHONE, address="10.0.0.3").status_code == 200  # the form again, with its error

    page = page_log_in(PHONE, password=DEFAULT_PASSWORD, address="10.0.0.4")
    admin = admin_log_in(PHONE, password=DEFAULT_PASSWORD, address="10.0.0.5")
    api = api_log_in(PHONE, password=DEFAULT_PASSWORD, address="10.0.0.6")

    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    assert "Try again in" in page.content.decode() or "초 후에" in page.content.decode()
    assert admin.status_code == 200 and not admin.wsgi_request.user.is_authenticated
    assert admin.context["form"].has_error("__all__", code="rate_limited")
    assert api.status_code == 429


def test_the_pages_and_the_admin_count_against_the_per_address_limit(rates):
    rates(login_ip="3/min")

    codes = [
        page_log_in("010-5555-0001").status_code,
        admin_log_in("010-5555-0002").status_code,
        api_log_in("010-5555-0003").status_code,
        page_log_in("010-5555-0004").status_code,
        api_log_in("010-5555-0005").status_code,
    ]

    assert codes == [401, 200, 401, 429, 429]
    assert api_log_in("010-5555-0006", address="10.9.9.9").status_code == 401  # another address


def test_an_account_that_keeps_failing_is_slowed_down_then_let_in(settings, clock):
    settings.LOGIN_FAILURES_BEFORE_DELAY = 3
    settings.LOGIN_FAILURE_DELAY_SECONDS = 30
    settings.LOGIN_FAILURE_DELAY_MAX_SECONDS = 60
    UserFactory(phone=PHONE)
    assert [api_log_in(PHONE).status_code for _ in range(3)] == [401, 401, 401]

    slowed = api_log_in(PHONE, password=DEFAULT_PASSWORD)  # even the right password waits

    assert slowed.status_code == 429
    assert slowed.json()["code"] == "RATE_LIMITED" and "failed log-ins" in slowed.json()["message"]
    assert slowed["Retry-After"] == "30"
    clock.advance(31)
    assert api_log_in(PHONE).status_code == 401  # the 4th failure: the wait doubles
    assert api_log_in(PHONE, password=DEFAULT_PASSWORD)["Retry-After"] == "60"
    clock.advance(61)
    assert api_log_in(PHONE).status_code == 401  # the 5th: at most the maximum
    assert api_log_in(PHONE, password=DEFAULT_PASSWORD)["Retry-After"] == "60"
    clock.advance(61)
    assert api_log_in(PHONE, password=DEFAULT_PASSWORD).status_code == 200  # never locked for good
    assert api_log_in(PHONE).status_code == 401  # and a success starts the count afresh
    assert api_log_in(PHONE, password=DEFAULT_PASSWORD).status_code == 200


def signup_body(n: int) -> dict[str, str]:
    return {
        "name": "팬",
        "phone": f"010-7777-{n:04d}",
        "password": "correct-horse-42",
        "pin": "402913",
        "pin_confirm": "402913",
    }


def test_the_signup_page_is_limited_per_address_with_the_api(rates):
    """The page had no limit at all while the API allowed 20 a minute."""
    rates(signup_ip="3/min")
    page = Client(REMOTE_ADDR="10.0.0.7")

    assert APIClient(REMOTE_ADDR="10.0.0.7").post("/api/v1/users", signup_body(0), format="json").status_code == 201
    assert [page.post("/signup/", signup_body(n)).status_code for n in (1, 2)] == [302, 302]
    refused = page.post("/signup/", signup_body(3))

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert Client(REMOTE_ADDR="10.0.0.8").post("/signup/", signup_body(4)).status_code == 302

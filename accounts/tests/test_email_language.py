"""The fan's optional e-mail and the language they use: asked at sign-up (page and API),
recorded at sign-up and log-in, so notices (a cancelled show) reach them in their language."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {"name": "김팬", "phone": "010-5555-1234", "password": "a-long-password-42", "pin": "402913"}


def test_api_signup_takes_an_optional_email_and_records_the_language():
    response = APIClient().post(
        "/api/v1/users", {**SIGNUP, "email": "fan@example.com"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    without = APIClient().post("/api/v1/users", {**SIGNUP, "phone": "010-5555-1235"}, format="json")

    assert response.status_code == 201 and response.json()["email"] == "fan@example.com"
    assert without.status_code == 201 and without.json()["email"] == ""
    assert User.objects.get(phone="010-5555-1234").language == "en"
    assert User.objects.get(phone="010-5555-1235").language == "ko"  # the default language


def test_api_signup_refuses_a_malformed_email():
    response = APIClient().post("/api/v1/users", {**SIGNUP, "email": "not-an-address"}, format="json")

    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"
    assert not User.objects.exists()


def test_page_signup_asks_the_email_last_and_keeps_it():
    client = Client()
    form = client.get(reverse("pages:signup")).content.decode()
    assert form.index('name="email"') > form.index('name="pin"')

    client.post(reverse("pages:signup"), {**SIGNUP, "pin_confirm": SIGNUP["pin"], "email": "fan@example.com"})

    assert User.objects.get(phone="010-5555-1234").email == "fan@example.com"


def test_log_in_records_the_language_the_fan_uses_now():
    user = UserFactory(phone="010-5555-7777", language="ko")

    response = APIClient().post(
        "/api/v1/auth/token", {"phone": user.phone, "password": DEFAULT_PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )

    user.refresh_from_db()
    assert response.status_code == 200 and user.language == "en"


def test_a_superuser_edits_a_fans_email_in_the_admin():
    fan = UserFactory()
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)

    page = client.get(f"/admin/accounts/user/{fan.pk}/change/").content.decode()

    assert 'name="email"' in page

"""Changing the PIN and the password, and support's temporary password (issue #15, item 2)."""

import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.exceptions import BadCredentials, LoginSlowedDown, PinAttemptsLimited
from accounts.models import User
from accounts.services import (
    user_api_key_issue,
    user_authenticate,
    user_password_set_temporary,
    user_pin_change,
    user_pin_check,
)
from accounts.tests.factories import DEFAULT_PASSWORD, DEFAULT_PIN, UserFactory
from core.exceptions import ValidationFailed
from reservations.tests.factories import organizer_user

pytestmark = pytest.mark.django_db


def test_a_new_pin_is_set_with_the_password_and_the_old_one_stops_working():
    fan = UserFactory()

    user_pin_change(user=fan, password=DEFAULT_PASSWORD, new_pin="480317")

    fan = User.objects.get(pk=fan.pk)
    assert fan.check_pin("480317") and not fan.check_pin(DEFAULT_PIN)


@pytest.mark.security
def test_a_wrong_password_sets_no_pin_and_counts_as_a_failed_log_in(settings):
    settings.LOGIN_FAILURES_BEFORE_DELAY = 2
    fan = UserFactory()

    for _ in range(2):
        with pytest.raises(BadCredentials):
            user_pin_change(user=fan, password="not-the-password", new_pin="480317")
    with pytest.raises(LoginSlowedDown):  # guessing here is as slow as at the log-in
        user_pin_change(user=fan, password=DEFAULT_PASSWORD, new_pin="480317")

    assert User.objects.get(pk=fan.pk).check_pin(DEFAULT_PIN)


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", "111111", "123456", ""])
def test_the_new_pin_follows_the_signup_rules(pin):
    fan = UserFactory()

    with pytest.raises(ValidationFailed) as refused:
        user_pin_change(user=fan, password=DEFAULT_PASSWORD, new_pin=pin)

    assert list(refused.value.extra["errors"]) == ["pin"]
    assert User.objects.get(pk=fan.pk).check_pin(DEFAULT_PIN)


def test_a_fan_locked_out_by_a_forgotten_pin_pays_at_once_with_the_new_one(settings):
    settings.PIN_WRONG_PER_ACCOUNT = 3
    fan = UserFactory()
    for _ in range(3):
        assert not user_pin_check(user=fan, pin="000000")
    with pytest.raises(PinAttemptsLimited):
        user_pin_check(user=fan, pin=DEFAULT_PIN)

    user_pin_change(user=fan, password=DEFAULT_PASSWORD, new_pin="480317")

    assert user_pin_check(user=User.objects.get(pk=fan.pk), pin="480317")


@pytest.mark.security
def test_support_sets_a_temporary_password_that_logs_in_once_told_and_ends_the_api_key(caplog):
    fan = UserFactory()
    user_api_key_issue(user=fan)
    support = UserFactory(is_staff=True, is_superuser=True)

    with caplog.at_level(logging.WARNING, logger="accounts.services"):
        password = user_password_set_temporary(user=fan, actor=support)

    assert len(password) == 12 and password.isalnum()
    assert user_authenticate(phone=fan.phone, password=password, client_ip=None) == fan
    with pytest.raises(BadCredentials):
        user_authenticate(phone=fan.phone, password=DEFAULT_PASSWORD, client_ip=None)
    assert not Token.objects.filter(user=fan).exists()
    assert f"user {support.pk} set a temporary password for user {fan.pk}" in caplog.text
    assert password not in caplog.text


@pytest.mark.security
def test_only_a_superuser_sets_a_temporary_password():
    fan = UserFactory()
    organizer = UserFactory(is_staff=True)

    with pytest.raises(PermissionDenied):
        user_password_set_temporary(user=fan, actor=organizer)

    assert User.objects.get(pk=fan.pk).check_password(DEFAULT_PASSWORD)


def test_the_admin_action_shows_the_temporary_password_once_and_logs_the_change():
    from django.contrib.admin.models import LogEntry

    fan = UserFactory()
    support = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(support)

    response = client.post(
        "/admin/accounts/user/",
        {"action": "set_temporary_password", "_selected_action": [fan.pk]},
        follow=True,
    )

    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == 1 and fan.phone in shown[0]
    password = shown[0].split(": ", 1)[1].split(".", 1)[0]
    assert User.objects.get(pk=fan.pk).check_password(password)
    assert LogEntry.objects.filter(object_id=str(fan.pk), user=support).exists()


@pytest.mark.security
def test_an_organizer_has_no_temporary_password_action():

    fan = UserFactory()
    organizer = organizer_user()
    client = Client()
    client.force_login(organizer)

    page = client.get("/admin/accounts/user/").content.decode()
    client.post("/admin/accounts/user/", {"action": "set_temporary_password", "_selected_action": [fan.pk]})

    assert "set_temporary_password" not in page
    assert User.objects.get(pk=fan.pk).check_password(DEFAULT_PASSWORD)

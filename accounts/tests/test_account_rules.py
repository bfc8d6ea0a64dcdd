"""What signup refuses: passwords like the account's own phone or name, trivial PINs, and names
with invisible or text-reordering characters (through the API, the pages and the model alike)."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.security]

GOOD = {"name": "김지승", "phone": "010-1234-5678", "password": "correct-horse-42", "pin": "402913"}


def signup(**overrides):
    return APIClient().post("/api/v1/users", {**GOOD, **overrides}, format="json", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize(
    "overrides",
    [
        {"password": "010-1234-5678"},  # the phone itself
        {"password": "+82-10-1234-5678"},
        {"name": "Alexander Hamilton", "password": "AlexanderHamilton"},
        {"name": "Alexander Hamilton", "password": "alexander hamilton"},
    ],
)
def test_a_password_like_the_users_own_phone_or_name_is_refused(overrides):
    response = signup(**overrides)

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert list(response.json()["errors"]) == ["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize("pin", ["000000", "111111", "999999", "123456", "012345", "654321", "987654", "890123"])
def test_a_pin_of_one_repeated_digit_or_a_run_is_refused_in_words(pin):
    response = signup(pin=pin)

    assert response.status_code == 400
    assert response.json()["errors"] == {"pin": ["Choose a PIN that is not one repeated digit or a run like 123456."]}


@pytest.mark.parametrize("pin", ["402913", "112233", "135790", "123455"])
def test_other_pins_are_accepted(pin):
    assert signup(pin=pin).status_code == 201


NAMES = [
    "김\u202eevil",  # right-to-left override
    "Kim\u2066Lee",  # left-to-right isolate
    "Kim\u200bLee",  # zero-width space
    "Kim\u200dLee",  # zero-width joiner
    "Kim\ufeffLee",  # byte order mark
    "Kim\x1b[31mLee",  # escape: a terminal colour code
    "Kim\nLee",
    "Kim\x7fLee",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_with_control_bidi_or_invisible_characters_are_refused_by_the_api(name):
    response = signup(name=name)

    assert response.status_code == 400
    assert "name" in response.json()["errors"]
    assert not User.objects.exists()


@pytest.mark.parametrize("name", NAMES[:3])
def test_the_signup_page_refuses_them_too(name):
    response = Client().post("/signup/", {**GOOD, "name": name})

    assert response.status_code == 400
    assert "이름에는 제어 문자" in response.content.decode()
    assert not User.objects.exists()


def test_the_signup_page_refuses_a_trivial_pin_in_korean():
    response = Client().post("/signup/", {**GOOD, "pin": "111111", "pin_confirm": "111111"})

    assert response.status_code == 400
    assert "123456 같은 연속된 숫자가 아닌" in response.content.decode()
    assert not User.objects.exists()


def test_the_model_refuses_them_for_the_admin():
    user = UserFactory()
    user.name = "Kim\u202eLee"

    with pytest.raises(ValidationError) as refused:
        user.full_clean()

    assert "name" in refused.value.message_dict


def test_ordinary_names_in_any_script_are_accepted():
    for n, name in enumerate(["김지승", "Jean-Luc O'Neil", "José Ñúñez", "محمد", "山田 太郎"]):
        assert signup(name=name, phone=f"010-1234-{n:04d}").status_code == 201

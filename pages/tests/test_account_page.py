"""Sign-up asks the PIN twice; My account changes the password and the PIN (issue #15, item 2)."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.services import user_api_key_issue
from accounts.tests.factories import DEFAULT_PASSWORD, DEFAULT_PIN, UserFactory
from pages.tests.helpers import text_of

pytestmark = pytest.mark.django_db

SIGNUP = {
    "name": "김팬",
    "phone": "010-5555-1234",
    "password": "a-long-password-42",
    "pin": "402913",
    "pin_confirm": "402913",
}


def test_signup_refuses_two_different_pins_and_creates_nobody(client):
    response = client.post(reverse("pages:signup"), {**SIGNUP, "pin_confirm": "402914"})

    assert response.status_code == 400
    assert "두 결제 비밀번호가 다릅니다. 같은 숫자 6자리를 두 번 입력하세요." in text_of(response)
    assert not User.objects.exists()


def test_signup_with_the_pin_twice_the_same_creates_the_account_with_it(client):
    client.post(reverse("pages:signup"), SIGNUP)

    assert User.objects.get(phone="010-5555-1234").check_pin("402913")


@pytest.fixture
def fan(client):
    user = UserFactory(name="이팬")
    client.force_login(user)
    return user


def test_the_account_page_needs_a_log_in_and_offers_both_changes(client):
    assert client.get(reverse("pages:account"))["Location"].startswith(reverse("pages:login"))
    client.force_login(UserFactory())

    page = text_of(client.get(reverse("pages:account")))

    assert 'data-testid="pin-form"' in page and 'data-testid="password-form"' in page
    assert "고객센터" in page  # what to do when the password is forgotten


def test_a_fan_sets_a_new_pin_with_the_password(client, fan):
    response = client.post(
        reverse("pages:account-pin"),
        {"password": DEFAULT_PASSWORD, "new_pin": "480317", "new_pin_confirm": "480317"},
        follow=True,
    )

    assert "새 결제 비밀번호를 정했습니다." in text_of(response)
    assert User.objects.get(pk=fan.pk).check_pin("480317")


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"password": "wrong-password", "new_pin": "480317", "new_pin_confirm": "480317"}, "비밀번호가 틀렸습니다."),
        (
            {"password": DEFAULT_PASSWORD, "new_pin": "480317", "new_pin_confirm": "480318"},
            "두 결제 비밀번호가 다릅니다.",
        ),
        ({"password": DEFAULT_PASSWORD, "new_pin": "111111", "new_pin_confirm": "111111"}, "123456 같은 연속된"),
    ],
)
def test_a_refused_pin_change_says_why_and_keeps_the_pin(client, fan, form, says):
    response = client.post(reverse("pages:account-pin"), form)

    assert response.status_code == 400
    assert says in text_of(response)
    assert User.objects.get(pk=fan.pk).check_pin(DEFAULT_PIN)


def test_a_password_change_keeps_this_session_and_ends_the_api_key(client, fan):
    user_api_key_issue(user=fan)

    response = client.post(
        reverse("pages:account-password"),
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "a-brand-new-pass-77",
            "new_password2": "a-brand-new-pass-77",
        },
        follow=True,
    )

    assert "비밀번호를 바꿨습니다." in text_of(response)
    assert response.wsgi_request.user == fan  # still logged in
    assert client.get(reverse("pages:wallet")).status_code == 200
    assert User.objects.get(pk=fan.pk).check_password("a-brand-new-pass-77")
    assert not Token.objects.filter(user=fan).exists()


def test_a_password_change_with_a_wrong_current_password_changes_nothing(client, fan):
    response = client.post(
        reverse("pages:account-password"),
        {
            "old_password": "wrong-password",
            "new_password1": "a-brand-new-pass-77",
            "new_password2": "a-brand-new-pass-77",
        },
    )

    assert response.status_code == 400
    assert "비밀번호가 틀렸습니다." in text_of(response)
    assert User.objects.get(pk=fan.pk).check_password(DEFAULT_PASSWORD)

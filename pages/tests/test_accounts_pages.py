import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from pages.tests.helpers import text_of
from points.services import wallet_charge

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "김팬",
    "phone": "010 5555 1234",
    "password": "a-long-password-42",
    "pin": "402913",
    "pin_confirm": "402913",
}


def test_signup_creates_the_account_logs_in_and_the_header_shows_name_and_balance(client):
    response = client.post(reverse("pages:signup"), GOOD, follow=True)

    assert response.status_code == 200
    user = User.objects.get(phone="010-5555-1234")
    assert response.wsgi_request.user == user
    page = text_of(response)
    assert "김팬님, 환영합니다!" in page
    assert 'data-testid="header-balance"' in page and "0원" in page


def test_signup_validation_errors_are_shown_in_words(client):
    response = client.post(
        reverse("pages:signup"), {"name": "  ", "phone": "02-123-4567", "password": "short", "pin": "12ab"}
    )

    assert response.status_code == 400
    page = text_of(response)
    assert "이 필드는 필수 항목입니다." in page  # the blank name, from Django's own Korean messages
    response = client.post(
        reverse("pages:signup"), {**GOOD, "phone": "02-123-4567", "pin": "12ab", "pin_confirm": "12ab"}
    )
    page = text_of(response)
    assert "010-1234-5678 형식의 휴대폰 번호를 입력하세요." in page
    assert "결제 비밀번호는 숫자 6자리여야 합니다." in page
    response = client.post(reverse("pages:signup"), {**GOOD, "password": "1234"})
    assert "비밀번호" in text_of(response) and response.status_code == 400
    assert not User.objects.exists()


def test_signup_with_a_taken_phone_says_so_and_suggests_logging_in(client):
    UserFactory(phone="010-5555-1234")

    response = client.post(reverse("pages:signup"), GOOD)

    assert response.status_code == 409
    assert "이 휴대폰 번호로 가입한 계정이 이미 있습니다. 로그인해 주세요." in text_of(response)
    assert User.objects.count() == 1


def test_login_with_a_wrong_password_is_refused_in_words(client):
    UserFactory(phone="010-5555-1234")

    response = client.post(reverse("pages:login"), {"phone": "01055551234", "password": "wrong"})

    assert response.status_code == 401
    assert "휴대폰 번호 또는 비밀번호가 올바르지 않습니다." in text_of(response)
    assert not response.wsgi_request.user.is_authenticated


def test_login_accepts_any_phone_spelling_and_goes_to_next(client):
    user = UserFactory(phone="010-5555-1234")
    wallet_charge(user=user, amount=12_345)

    response = client.post(
        reverse("pages:login"), {"phone": "010 5555 1234", "password": DEFAULT_PASSWORD, "next": "/wallet/"}
    )

    assert response.status_code == 302 and response["Location"] == "/wallet/"
    page = text_of(client.get("/wallet/"))
    assert "12,345원" in page


def test_login_ignores_a_next_pointing_elsewhere(client):
    UserFactory(phone="010-5555-1234")
    response = client.post(
        reverse("pages:login"),
        {"phone": "010-5555-1234", "password": DEFAULT_PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("pages:concert-list")


def test_logout_is_a_post_with_csrf(client):
    user = UserFactory()
    client.force_login(user)

    assert client.get(reverse("pages:logout")).status_code == 405
    response = client.post(reverse("pages:logout"), follow=True)
    assert not response.wsgi_request.user.is_authenticated
    assert "로그아웃했습니다." in text_of(response)


def test_forms_carry_a_csrf_token_and_posts_without_it_are_refused():
    strict = Client(enforce_csrf_checks=True)
    page = text_of(strict.get(reverse("pages:signup")))
    assert "csrfmiddlewaretoken" in page
    assert strict.post(reverse("pages:signup"), GOOD).status_code == 403
    assert not User.objects.exists()


def test_pages_that_need_a_login_send_to_the_login_page(client):
    for url in ["/wallet/", "/me/tickets/", "/concerts/1/queue/", "/shows/1/seats/", "/reservations/1/pay/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("pages:login") + "?next="), url

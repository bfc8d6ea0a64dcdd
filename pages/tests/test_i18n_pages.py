import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from accounts.tests.factories import UserFactory
from core.money import won_format
from pages.templatetags.pages_tags import won
from pages.tests.helpers import text_of
from points.services import wallet_charge

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("amount", "language", "shown"),
    [
        (100_000, "ko", "100,000원"),
        (100_000, "en", "₩100,000"),
        (0, "ko", "0원"),
        (-2_500, "ko", "-2,500원"),
        (-2_500, "en", "-₩2,500"),
        (10_000_000, "en", "₩10,000,000"),
    ],
)
def test_won_amounts_are_formatted_per_language(amount, language, shown):
    assert won_format(amount, language) == shown
    with translation.override(language):
        assert won(amount) == shown


def test_pages_are_korean_by_default(client):
    page = text_of(client.get(reverse("pages:concert-list")))
    assert '<html lang="ko">' in page and "공연" in page and "회원가입" in page


def test_switching_to_english_renders_pages_and_amounts_in_english(client):
    fan = UserFactory()
    wallet_charge(user=fan, amount=150_000)
    client.force_login(fan)
    korean = text_of(client.get(reverse("pages:wallet")))
    assert "보유 포인트" in korean and "150,000원" in korean

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/wallet/"}, follow=True)

    page = text_of(response)
    assert response.redirect_chain[-1][0] == "/wallet/"
    assert '<html lang="en">' in page
    assert "Point balance" in page and "Charge points" in page
    assert "₩150,000" in page and "150,000원" not in page
    assert "One charge: ₩1,000 to ₩1,000,000." in page
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    client.post("/i18n/setlang/", {"language": "ko", "next": "/wallet/"})
    assert "150,000원" in text_of(client.get(reverse("pages:wallet")))


def test_error_messages_follow_the_language(client):
    client.post("/i18n/setlang/", {"language": "en"})
    response = client.post(
        reverse("pages:signup"),
        {"name": "Kim", "phone": "123", "password": "a-long-pass-99", "pin": "1", "pin_confirm": "1"},
    )
    page = text_of(response)
    assert "Enter a Korean mobile number like 010-1234-5678." in page
    assert "The payment PIN is exactly 6 digits." in page


def test_the_language_switcher_is_on_every_page(client):
    page = text_of(client.get(reverse("pages:login")))
    assert 'action="/i18n/setlang/"' in page and 'value="en"' in page and "English" in page

"""The concert page's facts (English title and venue name, running time, age rating, poster) and
drafts: a concert without a publication time is seen in the admin only."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from concerts.models import Concert
from concerts.tests.factories import ConcertFactory, VenueFactory, make_show

pytestmark = pytest.mark.django_db


def fan_page(path: str, language: str = "ko"):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(path)


@pytest.fixture
def concert():
    venue = VenueFactory(name="항해 콘서트장", name_en="Hanghae Concert Hall")
    return ConcertFactory(
        title="아이유 콘서트",
        title_en="IU Concert",
        venue=venue,
        running_minutes=150,
        age_rating="12",
        poster_path="posters/sample.svg",
    )


def test_english_pages_show_the_english_title_and_venue_name(concert):
    english = fan_page(f"/concerts/{concert.pk}/", "en").content.decode()
    korean = fan_page(f"/concerts/{concert.pk}/", "ko").content.decode()
    listing = fan_page("/", "en").content.decode()

    assert "IU Concert" in english and "Hanghae Concert Hall" in english and "아이유 콘서트" not in english
    assert "아이유 콘서트" in korean and "항해 콘서트장" in korean and "IU Concert" not in korean
    assert "IU Concert" in listing


def test_without_an_english_title_the_korean_one_shows(concert):
    concert.title_en = ""
    concert.save(update_fields=["title_en"])

    assert "아이유 콘서트" in fan_page(f"/concerts/{concert.pk}/", "en").content.decode()


def test_the_page_shows_running_time_age_rating_and_poster(concert):
    page = fan_page(f"/concerts/{concert.pk}/", "ko").content.decode()

    assert "150분" in page
    assert "만 12세 이상" in page
    assert 'data-testid="concert-poster"' in page and "posters/sample" in page


def test_the_api_answers_the_new_facts(concert):
    [listed] = [c for c in APIClient().get("/api/v1/concerts").json() if c["id"] == concert.pk]

    assert listed["title_en"] == "IU Concert"
    assert listed["venue"]["name_en"] == "Hanghae Concert Hall"
    assert (listed["running_minutes"], listed["age_rating"]) == (150, "12")
    assert listed["poster_url"].startswith("/static/posters/sample")


def test_a_draft_is_seen_in_the_admin_only(clock, org_client):
    draft = ConcertFactory(title="비공개 초안", published_at=None)
    make_show(concert=draft)
    fan = UserFactory()
    api = APIClient()
    api.force_authenticate(fan)

    assert "비공개 초안" not in fan_page("/").content.decode()
    assert fan_page(f"/concerts/{draft.pk}/").status_code == 404
    assert draft.pk not in [c["id"] for c in APIClient().get("/api/v1/concerts").json()]
    assert api.post(f"/api/v1/concerts/{draft.pk}/queue-tokens").status_code == 404
    assert "비공개 초안" in org_client.get("/admin/concerts/concert/").content.decode()


def test_publishing_a_draft_shows_it_to_fans(clock, org_client):
    draft = ConcertFactory(title="곧 공개", published_at=None)

    org_client.post("/admin/concerts/concert/", {"action": "publish", "_selected_action": [draft.pk]})

    draft.refresh_from_db()
    assert draft.published_at is not None
    assert fan_page(f"/concerts/{draft.pk}/").status_code == 200


def test_a_concert_added_in_the_admin_starts_as_a_draft(org_client):
    form = org_client.get("/admin/concerts/concert/add/").content.decode()

    assert 'name="published_at_0" value=""' in form or 'name="published_at_0"' in form
    assert 'name="published_at_0" value="20' not in form


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("../settings.py", "A path among"),
        ("/etc/passwd.png", "A path among"),
        ("posters/missing.jpg", "No static file"),
    ],
)
def test_a_poster_path_must_be_a_static_image(concert, path, shown):
    concert.poster_path = path
    with translation.override("en"):
        with pytest.raises(ValidationError) as refused:
            concert.full_clean()
        messages = refused.value.message_dict["poster_path"]

    assert any(shown in message for message in messages), messages
    assert Concert.objects.get(pk=concert.pk).poster_path == "posters/sample.svg"

import pytest
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    client = Client()
    # Its own phone and name: the factory's random Korean names sometimes match a test's search.
    client.force_login(UserFactory(is_staff=True, is_superuser=True, phone="010-1234-5601", name="관리자"))
    return client


def test_user_list_searches_by_phone_and_name(superuser_client):
    UserFactory(phone="010-7777-0001", name="김민지")
    UserFactory(phone="010-8888-0002", name="이서준")

    by_phone = superuser_client.get("/admin/accounts/user/", {"q": "7777"})
    by_name = superuser_client.get("/admin/accounts/user/", {"q": "서준"})

    assert [u.phone for u in by_phone.context["cl"].result_list] == ["010-7777-0001"]
    assert [u.phone for u in by_name.context["cl"].result_list] == ["010-8888-0002"]


def test_user_page_never_shows_password_or_pin_hashes(superuser_client):
    fan = UserFactory()

    page = superuser_client.get(f"/admin/accounts/user/{fan.pk}/change/").content.decode()

    assert fan.phone in page
    assert fan.password not in page and fan.pin_hash not in page
    assert 'name="password"' not in page and 'name="pin_hash"' not in page


def test_organizer_neither_lists_nor_opens_nor_changes_users(org_client):
    fan = UserFactory(name="Fan")

    listing = org_client.get("/admin/accounts/user/", {"q": "010"})
    page = org_client.get(f"/admin/accounts/user/{fan.pk}/change/")
    response = org_client.post(f"/admin/accounts/user/{fan.pk}/change/", {"name": "X", "is_staff": "on"})

    assert listing.status_code == 403 and page.status_code == 403
    assert fan.phone not in org_client.get("/admin/").content.decode()
    assert response.status_code == 403
    fan.refresh_from_db()
    assert fan.name == "Fan" and not fan.is_staff


def test_superuser_may_make_a_user_staff_but_not_touch_secrets(superuser_client):
    fan = UserFactory(name="Fan")
    password, pin_hash = fan.password, fan.pin_hash

    response = superuser_client.post(
        f"/admin/accounts/user/{fan.pk}/change/",
        {
            "name": "Organizer Kim",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "phone": "010-0000-9999",
            "password": "x",
            "pin_hash": "x",
        },
    )

    assert response.status_code == 302
    fan.refresh_from_db()
    assert fan.is_staff and fan.name == "Organizer Kim"
    assert not fan.is_superuser and fan.phone != "010-0000-9999"
    assert (fan.password, fan.pin_hash) == (password, pin_hash)


def test_users_are_not_added_or_deleted_in_the_admin(superuser_client):
    fan = UserFactory()

    assert superuser_client.get("/admin/accounts/user/add/").status_code == 403
    assert superuser_client.post(f"/admin/accounts/user/{fan.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=fan.pk).exists()

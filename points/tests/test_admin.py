import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from points.models import LedgerEntry, Wallet
from points.services import wallet_charge
from points.tests.factories import funded_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def organizer():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="points", codename__in=["view_wallet", "view_ledgerentry"])
    )
    return user


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def fan():
    user = funded_user(50_000, phone="010-4242-4242")
    wallet_charge(user=user, amount=5_000)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["organizer", "superuser"])
def test_wallet_and_ledger_pages_load_read_only(request, who, fan):
    client = client_for(request.getfixturevalue(who))
    wallet = Wallet.objects.get(user=fan)
    entry = LedgerEntry.objects.filter(wallet=wallet).first()

    pages = [
        reverse("admin:points_wallet_changelist"),
        reverse("admin:points_wallet_changelist") + "?q=4242",
        reverse("admin:points_wallet_change", args=[wallet.pk]),
        reverse("admin:points_ledgerentry_changelist"),
        reverse("admin:points_ledgerentry_changelist") + "?q=010-4242-4242",
        reverse("admin:points_ledgerentry_changelist") + f"?wallet__id__exact={wallet.pk}",
        reverse("admin:points_ledgerentry_change", args=[entry.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    detail = client.get(reverse("admin:points_wallet_change", args=[wallet.pk])).content.decode()
    assert 'name="balance"' not in detail  # shown, never editable
    assert "55000" in detail or "55,000" in detail
    assert f"?wallet__id__exact={wallet.pk}" in detail
    assert (reverse("admin:points_wallet_adjust", args=[wallet.pk]) in detail) is (who == "superuser")

    for url in [
        reverse("admin:points_wallet_add"),
        reverse("admin:points_ledgerentry_add"),
        reverse("admin:points_wallet_delete", args=[wallet.pk]),
        reverse("admin:points_ledgerentry_delete", args=[entry.pk]),
    ]:
        assert client.get(url).status_code == 403, url
    # a POST to the change page changes nothing either
    client.post(reverse("admin:points_wallet_change", args=[wallet.pk]), {"balance": 1})
    assert Wallet.objects.get(pk=wallet.pk).balance == 55_000


def test_search_by_phone_finds_only_that_wallet_and_its_entries(organizer, fan):
    funded_user(7_000, phone="010-1111-2222")
    client = client_for(organizer)
    wallet = Wallet.objects.get(user=fan)

    wallets = client.get(reverse("admin:points_wallet_changelist"), {"q": "010-4242-4242"}).context["cl"]
    by_phone = client.get(reverse("admin:points_ledgerentry_changelist"), {"q": "010-4242-4242"}).context["cl"]
    by_wallet = client.get(reverse("admin:points_ledgerentry_changelist"), {"wallet__id__exact": wallet.pk}).context[
        "cl"
    ]

    assert [w.user for w in wallets.result_list] == [fan]
    assert {e.wallet for e in by_phone.result_list} == {e.wallet for e in by_wallet.result_list} == {wallet}
    assert len(by_phone.result_list) == len(by_wallet.result_list) == 2


def test_staff_without_view_permission_sees_nothing(fan):
    client = client_for(UserFactory(is_staff=True))

    assert client.get(reverse("admin:points_wallet_changelist")).status_code == 403
    assert client.get(reverse("admin:points_ledgerentry_changelist")).status_code == 403


def test_superuser_adjusts_through_the_service(superuser, fan):
    wallet = Wallet.objects.get(user=fan)
    client = client_for(superuser)
    url = reverse("admin:points_wallet_adjust", args=[wallet.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {"amount": "-15000", "reason": "double charge refunded by bank"})

    assert response.status_code == 302
    entry = LedgerEntry.objects.filter(wallet=wallet).latest("id")
    assert (entry.kind, entry.amount, entry.balance_after) == ("ADJUSTMENT", -15_000, 40_000)
    assert (entry.note, entry.created_by) == ("double charge refunded by bank", superuser)
    assert Wallet.objects.get(pk=wallet.pk).balance == 40_000


@pytest.mark.parametrize(
    "body", [{"amount": "-55001", "reason": "x"}, {"amount": "0", "reason": "x"}, {"amount": "10", "reason": ""}]
)
def test_refused_adjustment_shows_the_form_again_and_writes_nothing(superuser, fan, body):
    wallet = Wallet.objects.get(user=fan)

    response = client_for(superuser).post(reverse("admin:points_wallet_adjust", args=[wallet.pk]), body)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 2
    assert Wallet.objects.get(pk=wallet.pk).balance == 55_000


def test_adjust_action_leads_to_the_form_for_superusers_only(superuser, organizer, fan):
    wallet = Wallet.objects.get(user=fan)
    changelist = reverse("admin:points_wallet_changelist")
    body = {"action": "adjust_balance", "_selected_action": [wallet.pk]}

    response = client_for(superuser).post(changelist, body)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:points_wallet_adjust", args=[wallet.pk])

    organizer_client = client_for(organizer)
    assert "adjust_balance" not in organizer_client.get(changelist).content.decode()
    assert organizer_client.get(reverse("admin:points_wallet_adjust", args=[wallet.pk])).status_code == 403
    assert (
        organizer_client.post(
            reverse("admin:points_wallet_adjust", args=[wallet.pk]), {"amount": "1000", "reason": "x"}
        ).status_code
        == 403
    )
    assert LedgerEntry.objects.filter(wallet=wallet, kind="ADJUSTMENT").count() == 0

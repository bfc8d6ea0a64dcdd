import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from points.models import LedgerEntry, Wallet
from points.services import wallet_charge, wallet_debit
from points.tests.factories import funded_user

pytestmark = pytest.mark.django_db

CHARGES = "/api/v1/wallet/charges"
WITHDRAWALS = "/api/v1/wallet/withdrawals"


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(api, url, body, key=None):
    """POST the body; a withdrawal's dict body gets the fan's PIN unless it names one."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    if url == WITHDRAWALS and isinstance(body, dict) and "amount" in body and "pin" not in body:
        body = {**body, "pin": DEFAULT_PIN}
    return api.post(url, body, format="json", headers=headers)


def entry_count(user) -> int:
    return LedgerEntry.objects.filter(wallet__user=user).count()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/wallet"),
        ("post", CHARGES),
        ("post", WITHDRAWALS),
        ("get", "/api/v1/wallet/transactions"),
    ],
)
def test_wallet_endpoints_need_login(method, url):
    response = getattr(APIClient(), method)(url, {"amount": 1_000}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_balance(api, user):
    assert api.get("/api/v1/wallet").json() == {"balance": 0}
    wallet_charge(user=user, amount=5_000)

    assert api.get("/api/v1/wallet").json() == {"balance": 5_000}


def test_charge_answers_201_with_balance_and_transaction(api, user):
    response = post(api, CHARGES, {"amount": 50_000})

    assert response.status_code == 201
    body = response.json()
    entry = LedgerEntry.objects.get(wallet__user=user)
    assert body["balance"] == 50_000 == Wallet.objects.get(user=user).balance
    assert body["transaction"] == {
        "id": entry.pk,
        "kind": "CHARGE",
        "amount": 50_000,
        "balance_after": 50_000,
        "reference": "",
        "created_at": body["transaction"]["created_at"],
    }
    assert body["transaction"]["created_at"].endswith("+09:00")  # Asia/Seoul, with offset


def test_withdrawal_answers_201_with_a_negative_transaction(api, user):
    wallet_charge(user=user, amount=50_000)

    response = post(api, WITHDRAWALS, {"amount": 20_000})

    assert response.status_code == 201
    body = response.json()
    assert body["balance"] == 30_000
    assert (body["transaction"]["kind"], body["transaction"]["amount"]) == ("WITHDRAWAL", -20_000)
    assert Wallet.objects.get(user=user).balance == 30_000


@pytest.mark.parametrize(("amount", "status"), [(999, 400), (1_000, 201), (1_000_000, 201), (1_000_001, 400)])
def test_charge_boundaries(api, user, amount, status):
    response = post(api, CHARGES, {"amount": amount})

    assert response.status_code == status
    if status == 400:
        assert response.json() == {
            "code": "AMOUNT_OUT_OF_RANGE",
            "message": response.json()["message"],
            "min": 1_000,
            "max": 1_000_000,
        }
        assert entry_count(user) == 0


def test_charge_to_the_cap_then_one_more_is_balance_cap_exceeded():
    user = funded_user(9_000_000)
    api = APIClient()
    api.force_authenticate(user)

    assert post(api, CHARGES, {"amount": 1_000_000}).json()["balance"] == 10_000_000
    response = post(api, CHARGES, {"amount": 1_000})

    assert response.status_code == 409
    assert response.json()["code"] == "BALANCE_CAP_EXCEEDED"
    assert Wallet.objects.get(user=user).balance == 10_000_000


def test_withdrawal_beyond_the_balance_is_409_insufficient_balance(api, user):
    wallet_charge(user=user, amount=5_000)

    response = post(api, WITHDRAWALS, {"amount": 5_001})

    assert response.status_code == 409
    assert response.json()["code"] == "INSUFFICIENT_BALANCE"
    assert response.json()["balance"] == 5_000
    assert Wallet.objects.get(user=user).balance == 5_000


@pytest.mark.parametrize("amount", [0, -1, -1_000, 999, 1_000_001, 2**63, 10**30])
def test_every_charge_amount_outside_the_limits_is_amount_out_of_range(amount):
    user = funded_user(5_000)
    api = APIClient()
    api.force_authenticate(user)

    response = post(api, CHARGES, {"amount": amount})

    assert response.status_code == 400
    assert response.json() == {
        "code": "AMOUNT_OUT_OF_RANGE",
        "message": response.json()["message"],
        "min": 1_000,
        "max": 1_000_000,
    }
    assert entry_count(user) == 1 and Wallet.objects.get(user=user).balance == 5_000


@pytest.mark.parametrize("amount", [0, -1, -1_000])
def test_a_withdrawal_of_nothing_or_less_is_amount_out_of_range(amount):
    user = funded_user(5_000)
    api = APIClient()
    api.force_authenticate(user)

    response = post(api, WITHDRAWALS, {"amount": amount})

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["min"]) == ("AMOUNT_OUT_OF_RANGE", 1)
    assert entry_count(user) == 1 and Wallet.objects.get(user=user).balance == 5_000


@pytest.mark.parametrize("amount", [2**63, 10**30])
def test_a_withdrawal_beyond_any_balance_is_insufficient_balance(amount):
    user = funded_user(5_000)
    api = APIClient()
    api.force_authenticate(user)

    response = post(api, WITHDRAWALS, {"amount": amount})

    assert (response.status_code, response.json()["code"]) == (409, "INSUFFICIENT_BALANCE")
    assert entry_count(user) == 1


BAD_BODIES = [
    {"amount": 1000.5},
    {"amount": 1000.0},
    {"amount": "1000"},
    {"amount": "1e3"},
    {"amount": True},
    {"amount": None},
    {"amount": [1000]},
    {"amount": {"value": 1000}},
    {},
    {"amount": 1000, "junk": "x"},
    [],
    [{"amount": 1000}],
    "1000",
    1000,
]


@pytest.mark.parametrize("url", [CHARGES, WITHDRAWALS])
@pytest.mark.parametrize("body", BAD_BODIES)
def test_malformed_amounts_are_validation_errors_not_500s(url, body):
    user = funded_user(5_000_000)
    api = APIClient()
    api.force_authenticate(user)

    response = post(api, url, body)

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert entry_count(user) == 1
    assert Wallet.objects.get(user=user).balance == 5_000_000


def test_invalid_json_is_malformed_request(api):
    response = api.post(CHARGES, '{"amount": 10', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


# --- Idempotency-Key --------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "funding"), [(CHARGES, 0), (WITHDRAWALS, 100_000)])
def test_replay_returns_the_first_answer_and_moves_nothing(url, funding):
    user = funded_user(funding)
    api = APIClient()
    api.force_authenticate(user)
    first = post(api, url, {"amount": 10_000}, key="abc-123")
    wallet_charge(user=user, amount=7_000)  # the balance moves on in between

    replay = post(api, url, {"amount": 10_000}, key="abc-123")

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert entry_count(user) == (3 if funding else 2)


def test_same_key_with_another_amount_or_operation_is_409(api, user):
    wallet_charge(user=user, amount=50_000)
    assert post(api, CHARGES, {"amount": 10_000}, key="k").status_code == 201

    other_amount = post(api, CHARGES, {"amount": 20_000}, key="k")
    other_operation = post(api, WITHDRAWALS, {"amount": 10_000}, key="k")

    for response in (other_amount, other_operation):
        assert response.status_code == 409
        assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Wallet.objects.get(user=user).balance == 60_000


def test_same_key_of_another_user_is_independent(api, user):
    other = UserFactory()
    wallet_charge(user=other, amount=1_000, idempotency_key="k")

    response = post(api, CHARGES, {"amount": 10_000}, key="k")

    assert response.status_code == 201
    assert response.json()["balance"] == 10_000


@pytest.mark.parametrize("key", ["", "x" * 101, "has space"])
def test_malformed_key_is_validation_error(api, user, key):
    response = post(api, CHARGES, {"amount": 10_000}, key=key)

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "Idempotency-Key" in response.json()["errors"]
    assert entry_count(user) == 0


# --- transactions -----------------------------------------------------------------------------


def test_transactions_newest_first_and_paginated(api, user):
    for amount in (1_000, 2_000, 3_000):
        wallet_charge(user=user, amount=amount)
    wallet_debit(user=user, amount=500, reference="reservation:7")

    first_page = api.get("/api/v1/wallet/transactions", {"page_size": 3}).json()
    second_page = api.get("/api/v1/wallet/transactions", {"page_size": 3, "page": 2}).json()

    assert first_page["count"] == 4
    assert [e["amount"] for e in first_page["results"]] == [-500, 3_000, 2_000]
    assert first_page["results"][0]["reference"] == "reservation:7"
    assert first_page["results"][0]["kind"] == "PAYMENT"
    assert [e["amount"] for e in second_page["results"]] == [1_000]
    assert first_page["next"] and second_page["next"] is None


def test_another_users_data_never_shows(api, user):
    other = UserFactory()
    wallet_charge(user=other, amount=9_000)
    wallet_charge(user=user, amount=1_000)

    assert api.get("/api/v1/wallet").json() == {"balance": 1_000}
    results = api.get("/api/v1/wallet/transactions").json()["results"]
    assert [e["amount"] for e in results] == [1_000]
    assert Wallet.objects.get(user=other).balance == 9_000


def test_schema_documents_the_wallet_endpoints():
    response = APIClient().get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/wallet", "/api/v1/wallet/charges", "/api/v1/wallet/withdrawals"} <= set(paths)
    charge = paths["/api/v1/wallet/charges"]["post"]
    assert {"201", "400", "409"} <= set(charge["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in charge["parameters"])

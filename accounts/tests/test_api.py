import pytest
from rest_framework.test import APIClient

import points.receivers
from accounts.models import User
from accounts.services import user_create
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def signup(api, **overrides):
    body = {"name": "김지승", "phone": "010-1234-5678", "password": "correct-horse-42", "pin": "402913"}
    body.update(overrides)
    return api.post("/api/v1/users", body, format="json")


def test_signup_creates_user_with_normalised_phone_hashed_secrets_and_wallet(api):
    response = signup(api, phone="+82 10 1234 5678")

    assert response.status_code == 201
    assert response.json()["phone"] == "010-1234-5678"
    assert "password" not in response.json() and "pin" not in response.json()
    user = User.objects.get(phone="010-1234-5678")
    assert user.check_password("correct-horse-42")
    assert user.check_pin("402913") and not user.check_pin("654321")
    assert "402913" not in user.pin_hash
    assert user.wallet.balance == 0


def test_a_sign_up_whose_wallet_cannot_be_opened_leaves_no_user(monkeypatch):
    # The wallet is opened by points on the sign-up signal, in the sign-up's transaction.
    def wallet_refused(*, user):
        raise RuntimeError("wallet refused")

    monkeypatch.setattr(points.receivers, "wallet_create", wallet_refused)
    with pytest.raises(RuntimeError):
        user_create(name="김지승", phone="010-1234-5678", password="correct-horse-42", pin="402913")
    assert not User.objects.filter(phone="010-1234-5678").exists()


@pytest.mark.parametrize("spelling", ["01012345678", "010 1234 5678", "010-1234-5678", "+821012345678"])
def test_duplicate_phone_in_any_spelling_is_phone_taken(api, spelling):
    assert signup(api).status_code == 201

    response = signup(api, phone=spelling)

    assert response.status_code == 409
    assert response.json()["code"] == "PHONE_TAKEN"
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "02-123-4567"),
        ("phone", "011-1234-5678"),
        ("phone", "010-1234-567"),
        ("phone", "hello"),
        ("pin", "12345"),
        ("pin", "12a456"),
        ("pin", "1234567"),
        ("password", "short"),
        ("password", "12345678901"),
        ("name", "   "),
    ],
)
def test_signup_rejects_invalid_fields_with_validation_error(api, field, value):
    response = signup(api, **{field: value})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert field in body["errors"]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [{}, [], "text", {"name": ["x"], "phone": {"a": 1}, "password": None, "pin": 123456}, {"name": "x" * 10_000}],
)
def test_signup_malformed_body_is_a_400_not_a_500(api, body):
    response = api.post("/api/v1/users", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_signup_invalid_json_is_malformed_request(api):
    response = api.post("/api/v1/users", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


def test_login_returns_a_token_that_authenticates(api):
    user = UserFactory(phone="010-5555-0001")

    response = api.post("/api/v1/auth/token", {"phone": "01055550001", "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/wallet").json()["balance"] == user.wallet.balance


@pytest.mark.parametrize(
    ("phone", "password"), [("010-5555-0001", "wrong-password"), ("010-9999-9999", DEFAULT_PASSWORD), ("junk", "x")]
)
def test_wrong_login_is_bad_credentials(api, phone, password):
    UserFactory(phone="010-5555-0001")

    response = api.post("/api/v1/auth/token", {"phone": phone, "password": password}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "BAD_CREDENTIALS"


def test_inactive_user_cannot_log_in(api):
    UserFactory(phone="010-5555-0001", is_active=False)

    response = api.post("/api/v1/auth/token", {"phone": "010-5555-0001", "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 401

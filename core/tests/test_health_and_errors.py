import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_dependencies(client: Client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_postgresql_and_redis(client: Client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgresql": "ok", "redis": "ok"}}


def test_readyz_reports_an_unreachable_redis_as_503(client: Client, settings):
    dead_redis = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}

    with override_settings(CACHES=dead_redis):  # nothing listens on port 1
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"postgresql": "ok", "redis": "unavailable"}


def test_unknown_api_path_is_a_json_404(client: Client):
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "message": "Not found."}


def test_wrong_method_is_a_json_405(client: Client):
    response = client.delete("/api/v1/users")

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_bad_token_is_not_authenticated(client: Client):
    response = client.get("/api/v1/wallet", HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"
    assert response["WWW-Authenticate"] == "Token"  # the scheme to use, as every 401 says


def test_openapi_schema_and_docs_are_served(client: Client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/users", "/api/v1/auth/token", "/api/v1/concerts"]:
        assert path in paths
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn.jsdelivr" not in docs.content  # assets are served by the project itself

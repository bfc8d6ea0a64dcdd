"""Issue #14, item 11: /metrics was public (sales, queue sizes, load). It needs the bearer token
when METRICS_TOKEN is set, and is readable only from this machine, not through a proxy, when not
(core.metrics.metrics_access_refused)."""

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.security]

TOKEN = "a-long-random-metrics-token"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": f"Token {TOKEN}"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"},
    ],
    ids=["none", "wrong", "other-scheme", "longer"],
)
def test_with_a_token_set_a_scrape_without_it_is_refused(client: Client, settings, headers):
    settings.METRICS_TOKEN = TOKEN

    response = client.get("/metrics", **headers)  # from 127.0.0.1: the token is needed all the same

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "NOT_AUTHENTICATED"
    assert b"stagegate_" not in response.content


def test_with_a_token_set_the_bearer_reads_the_metrics(client: Client, settings):
    settings.METRICS_TOKEN = TOKEN

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 200
    assert b"stagegate_queue_waiting" in response.content


@pytest.mark.parametrize(
    "meta",
    [{"REMOTE_ADDR": "10.1.2.3"}, {"REMOTE_ADDR": "203.0.113.9"}, {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}],
    ids=["private", "public", "through-a-proxy"],
)
def test_without_a_token_only_this_machine_reads_the_metrics(client: Client, settings, meta):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", **meta)

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_without_a_token_loopback_reads_the_metrics(client: Client, settings, address):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", REMOTE_ADDR=address).status_code == 200

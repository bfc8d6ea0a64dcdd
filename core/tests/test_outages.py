"""A PostgreSQL outage answers 503 SERVICE_UNAVAILABLE with Retry-After on every endpoint, never
a 500 (issue 13 item 7): the fast paths of poll and enter (which skip DRF) included, when the API
key is not cached and they fall back to SQL, and the fan pages.

The outage is real: the test's connection is closed and pointed at a port where no PostgreSQL
listens, so every query fails to connect (psycopg's OperationalError), as when the server is down.
"""

import contextlib
import json

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.authentication import api_key_forget
from accounts.services import user_api_key
from accounts.tests.factories import UserFactory
from drills.stack import free_port
from queueing.selectors import concert_queue_policy_cache_clear
from queueing.services import queue_enter
from queueing.tests.factories import concert_on_sale
from queueing.tests.test_entering import by_event_loop
from queueing.tests.test_events import Stream, run

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def postgres_down():
    connection.close()
    port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port


def _client(api_key: str) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key}")
    return client


def _assert_unavailable(response, settings) -> None:
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"
    assert response["Retry-After"] == str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)


@pytest.fixture
def uncached_fans():
    """A concert on sale and two fans in its room whose API keys no cache knows (a signed key as
    log-in issues, and a plain one as the admin makes): the queue paths must ask PostgreSQL."""
    concert = concert_on_sale(queue_active_size=5)
    signed_user, plain_user = UserFactory(), UserFactory()
    signed = user_api_key(user=signed_user)
    plain = Token.objects.create(user=plain_user).key
    tokens = {}
    for user, key in ((signed_user, signed), (plain_user, plain)):
        tokens[key] = queue_enter(user_id=user.pk, concert_id=concert.pk).token
        api_key_forget(key)
    concert_queue_policy_cache_clear()
    return concert, tokens


@pytest.mark.parametrize("signed", [True, False], ids=["signed key", "plain key"])
def test_poll_and_enter_answer_503_not_500_while_postgresql_is_down(uncached_fans, settings, signed):
    concert, tokens = uncached_fans
    api_key, token = list(tokens.items())[0 if signed else 1]
    client = _client(api_key)
    with postgres_down():
        _assert_unavailable(client.get("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token), settings)
        _assert_unavailable(client.post(f"/api/v1/concerts/{concert.pk}/queue-tokens"), settings)
        _assert_unavailable(client.delete("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token), settings)
        _assert_unavailable(client.get("/api/v1/queue-tokens/current/events", HTTP_X_QUEUE_TOKEN=token), settings)
    # Back: the same calls work again.
    assert client.get("/api/v1/queue-tokens/current", HTTP_X_QUEUE_TOKEN=token).status_code == 200


def test_the_rest_of_the_api_and_the_pages_answer_503_while_postgresql_is_down(uncached_fans, settings):
    concert, tokens = uncached_fans
    client = _client(next(iter(tokens)))
    with postgres_down():
        for path in ("/api/v1/wallet", "/api/v1/concerts", "/api/v1/reservations"):
            _assert_unavailable(client.get(path), settings)
        page = APIClient(raise_request_exception=False).get("/")
        assert page.status_code == 503
        assert page["Retry-After"] == str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)
        assert b'data-testid="unavailable"' in page.content  # the fans' try-again page


def test_the_event_stream_answers_503_while_postgresql_is_down(uncached_fans, settings):
    """The ASGI stream (queueing.events, uvicorn) resolves an uncached API key in SQL too."""
    _concert, tokens = uncached_fans
    api_key, token = next(iter(tokens.items()))
    with postgres_down():
        stream = run(Stream(api_key=api_key, token=token))
    assert stream.status == 503
    assert json.loads(stream.body)["code"] == "SERVICE_UNAVAILABLE"
    assert stream.headers[b"retry-after"] == str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS).encode()


def test_entering_from_the_event_loop_answers_503_while_postgresql_or_redis_is_down(uncached_fans, settings):
    """Entering with an API key, served by uvicorn's event loop (queueing.entering), asks
    PostgreSQL for an uncached key and policy in a worker thread, and Redis on the loop."""
    concert, tokens = uncached_fans
    api_key = next(iter(tokens))
    with postgres_down():
        refused = by_event_loop(api_key, concert.pk)
    assert (refused.status, refused.body["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert refused.headers["retry-after"] == str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)
    redis_url = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    refused = by_event_loop(api_key, concert.pk)
    assert (refused.status, refused.body["code"]) == (503, "SERVICE_UNAVAILABLE")
    settings.REDIS_URL = redis_url
    assert by_event_loop(api_key, concert.pk).status == 200  # back: the fan's token, as before

"""Entering with the concert page's signed entry ticket (its button, static/js/enter.js): on the
event loop (queueing.entering, through config.asgi) and, for a server without it, in the Django
view, with the same answers; a ticket that is not a live one of this concert enters nobody."""

import asyncio
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core import signing
from django.test import Client

from accounts.tests.factories import UserFactory
from queueing.entering import enter_route
from queueing.selectors import queue_stats, queue_status
from queueing.services import queue_entry_ticket_issue, queue_stream_ticket_caller
from queueing.tests.factories import concert_on_sale
from queueing.tests.helpers import asgi_request
from queueing.tests.test_api import FIELDS

# The event loop resolves the concert's policy in its own thread: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def enter_path(concert_id: int, ticket: str) -> str:
    return f"/api/v1/concerts/{concert_id}/queue-tokens?{urlencode({'ticket': ticket})}"


def by_event_loop(concert_id: int, ticket: str) -> tuple[int, dict]:
    path, query = enter_path(concert_id, ticket).split("?")
    scope = {
        "type": "http", "method": "POST", "path": path, "query_string": query.encode(),
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 40000),
    }  # fmt: skip
    status, _headers, body = asyncio.run(asgi_request(scope))
    return status, json.loads(body)


def by_django(concert_id: int, ticket: str) -> tuple[int, dict]:
    # CSRF checks on, no session: the ticket is all the page sends.
    response = Client(enforce_csrf_checks=True).post(enter_path(concert_id, ticket))
    return response.status_code, response.json()


SERVERS = [pytest.param(by_event_loop, id="event-loop"), pytest.param(by_django, id="django")]


@pytest.mark.parametrize("enter", SERVERS)
def test_a_concert_pages_ticket_enters_its_fan_and_names_the_places_stream(enter):
    concert = concert_on_sale(queue_active_size=1)
    first, fan = UserFactory(), UserFactory()
    enter(concert.pk, queue_entry_ticket_issue(user_id=first.pk, concert_id=concert.pk))  # takes the one place
    ticket = queue_entry_ticket_issue(user_id=fan.pk, concert_id=concert.pk)

    created_status, created = enter(concert.pk, ticket)
    again_status, again = enter(concert.pk, ticket)  # the page's button pressed again: the same place

    assert (created_status, again_status) == (201, 200)
    assert set(created) == FIELDS | {"events_url"}
    assert created["status"] == "WAITING" and created["position"] == 1
    assert again["token"] == created["token"]
    assert queue_status(user_id=fan.pk, token=created["token"]).position == 1  # the fan's own place
    events = urlsplit(created["events_url"])
    assert events.path == "/api/v1/queue-tokens/current/events"
    assert queue_stream_ticket_caller(ticket=parse_qs(events.query)["ticket"][0]) == (fan.pk, created["token"])


def test_the_event_loop_serves_an_entry_with_a_ticket_and_leaves_a_get_to_django():
    def scope(method: str, query: bytes) -> dict:
        return {"method": method, "path": "/api/v1/concerts/7/queue-tokens", "query_string": query, "headers": []}

    assert enter_route(scope("POST", b"ticket=abc")) == 7
    assert enter_route(scope("GET", b"ticket=abc")) is None
    assert enter_route(scope("POST", b"")) is None  # no key, no ticket: Django's session or its 401


def _refused_ticket(kind: str, *, fan_id: int, concert_id: int, other_concert_id: int, clock, settings) -> str:
    if kind == "forged":  # another fan's id under the fan's signature
        issued = queue_entry_ticket_issue(user_id=fan_id, concert_id=concert_id)
        payload = signing.dumps([fan_id + 1, concert_id, 2**40], salt="queueing.entry-ticket").split(":", 1)[0]
        return payload + ":" + issued.split(":", 1)[1]
    if kind == "another concert":
        return queue_entry_ticket_issue(user_id=fan_id, concert_id=other_concert_id)
    if kind == "expired":
        issued = queue_entry_ticket_issue(user_id=fan_id, concert_id=concert_id)
        clock.advance(timedelta(seconds=settings.QUEUE_ENTRY_TICKET_SECONDS))
        return issued
    if kind == "a stream ticket":  # signed by the project for another purpose
        return signing.dumps([fan_id, concert_id, 2**40], salt="queueing.stream-ticket")
    return "not-a-ticket"


@pytest.mark.parametrize("enter", SERVERS)
@pytest.mark.parametrize("kind", ["forged", "another concert", "expired", "a stream ticket", "malformed"])
def test_a_ticket_that_is_not_a_live_one_of_this_concert_enters_nobody(enter, kind, clock, settings):
    concert, other = concert_on_sale(), concert_on_sale()
    fan = UserFactory()
    ticket = _refused_ticket(
        kind, fan_id=fan.pk, concert_id=concert.pk, other_concert_id=other.pk, clock=clock, settings=settings
    )

    status, body = enter(concert.pk, ticket)

    assert (status, body["code"]) == (401, "NOT_AUTHENTICATED")
    stats = queue_stats(concert_id=concert.pk)
    assert (stats.waiting, stats.active) == (0, 0)

"""Schemathesis against our own OpenAPI schema, in process: generated requests (valid and invalid)
to every endpoint never get a server error, and every answer matches the documented schema.

Each operation is its own pytest item named after it ("POST /api/v1/auth/token"): schema.parametrize()
gives every operation the same node id, and pytest-xdist's load groups then collapse them into one, so
only the first operation ran. The root conftest prints how many operations were fuzzed.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from config.wsgi import application
from queueing.services import queue_enter
from reservations.tests.factories import fan_with_points, make_show

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("fuzz")]


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
OPERATIONS = [pytest.param(result.ok(), id=result.ok().label) for result in schema.get_all_operations()]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    # The WSGI handler closes "old" DB connections around each request, which would close the
    # test's transaction; Django's test client switches that off the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fan_headers(clock):
    """A fan with points, admitted to a concert that is on sale, so booking calls go deep."""
    show = make_show()
    fan = fan_with_points(1_000_000)
    token = Token.objects.create(user=fan)
    queue_token = queue_enter(user_id=fan.pk, concert_id=show.concert_id).token
    return {"Authorization": f"Token {token.key}", "X-Queue-Token": queue_token}


def test_the_schema_documents_every_api_operation():
    assert len(OPERATIONS) >= 18, [param.id for param in OPERATIONS]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_endpoint_answers_within_its_schema(operation, fan_headers):
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def answers_within_its_schema(case):
        case.call_and_validate(
            headers={**fan_headers, **(case.headers or {})},
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )

    answers_within_its_schema()

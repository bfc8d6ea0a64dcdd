import json

import pytest
from django.test import Client

from core.request_id import REQUEST_ID_HEADER

pytestmark = pytest.mark.django_db


def test_every_response_carries_a_request_id(client: Client):
    first, second = client.get("/healthz"), client.get("/healthz")

    assert len(first[REQUEST_ID_HEADER]) == 32
    assert first[REQUEST_ID_HEADER] != second[REQUEST_ID_HEADER]


def test_a_plain_incoming_request_id_is_kept_and_a_forged_one_replaced(client: Client):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abc")
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="evil\nline" + "x" * 100)

    assert kept[REQUEST_ID_HEADER] == "lb-1234.abc"
    assert replaced[REQUEST_ID_HEADER] != "evil\nline" + "x" * 100


def test_log_lines_are_json_with_the_request_id(client: Client, capsys):
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    client.get("/api/v1/no-such-endpoint", HTTP_X_REQUEST_ID="trace-42")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    warning = next(line for line in lines if line["logger"] == "django.request")  # logs the 404
    assert warning["request_id"] == "trace-42"
    assert warning["level"] == "WARNING"

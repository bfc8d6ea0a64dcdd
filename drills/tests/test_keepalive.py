"""A request whose body the server never read (an early 401 or 404 to a 200 KB upload) must not
break the client's kept-alive connection: the next requests on it are served (issue 13 item 10).

Against real processes (drills/stack.py), with raw http.client keep-alive: gunicorn as the drills
and `scripts/bench-queue` run it (clients straight on it), and the deployed layout, HAProxy in front of
the gunicorn pools and uvicorn. gunicorn drains at most 64 KB of an unread body and then closes
the connection its answer announced as kept alive; config/wsgi.py reads the rest (core/wsgi.py).
"""

import http.client
import json

import pytest

from drills.tests.world import drill_world

BODY = b'{"show_id": 1, "seat_ids": [' + b"1, " * 68_000 + b"1]}"  # about 200 KB
EARLY_ANSWERS = [
    ("/api/v1/reservations", {}, 401),  # no login: refused before the body is read
    ("/api/v1/reservations", {"Authorization": "Token not-a-key"}, 401),
    ("/api/v1/concerts/1/queue-tokens", {"Authorization": "Token not-a-key"}, 401),  # the lean path
    ("/api/v1/no-such-endpoint", {}, 404),
]


def _gunicorn(drill_stack) -> int:
    web = drill_stack.start_web("web", workers=1, threads=2)
    drill_stack.wait_ready(web)
    return web.port


def _haproxy(drill_stack) -> int:
    return drill_stack.start_deployed_layout()["proxy"].port


def _next_requests_served(port: int, concert_id: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        for path, headers, status in EARLY_ANSWERS:
            conn.request("POST", path, body=BODY, headers={"Content-Type": "application/json", **headers})
            early = conn.getresponse()
            early.read()
            assert (path, early.status) == (path, status)
            assert early.getheader("Connection", "").lower() != "close"
            # The same connection (http.client would open a new one only after a close it was told of).
            conn.auto_open = 0
            conn.request("GET", "/api/v1/concerts")
            after = conn.getresponse()
            body = json.loads(after.read())
            assert after.status == 200, (path, after.status)
            assert [c["id"] for c in body] == [concert_id]
            conn.auto_open = 1
    finally:
        conn.close()


@pytest.mark.drill
@pytest.mark.parametrize("start", [_gunicorn, _haproxy], ids=["gunicorn", "haproxy"])
def test_an_unread_request_body_keeps_the_connection_usable(drill_stack, start):
    assert len(BODY) > 200_000
    world = drill_world(fans=0, active_size=5)
    _next_requests_served(start(drill_stack), world.concert.pk)

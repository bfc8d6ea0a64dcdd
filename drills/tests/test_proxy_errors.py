"""Issue #14, item 11: requests refused before Django (a huge header, a long URL) answered
gunicorn's HTML pages. Through the deployed layout (HAProxy in front of a gunicorn pool,
config/haproxy/stagegate.cfg) HAProxy refuses them first, with {code, message} JSON."""

import json
import re
import socket

import pytest

pytestmark = [pytest.mark.drill, pytest.mark.security]


def _raw_request(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends bytes as they are (no client library would send them) and reads the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def _get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "Connection: close", "", ""]
    return "\r\n".join(lines).encode()


# What gunicorn would refuse with an HTML page of its own (431, 414). Requests HAProxy 2.6's own
# parser refuses (a malformed header, headers past its 16 KB buffer, more than 101 headers) get its
# built-in HTML 400 whatever the errorfiles say (haproxy issue #3032, fixed in 3.2): not listed.
REQUESTS = {
    "header field of 9 KB (past gunicorn's 8190)": _get("/api/v1/concerts", "X-Big: " + "x" * 9_000),
    "headers of 12 KB in all": _get("/api/v1/concerts", *[f"X-H{i}: " + "x" * 1_000 for i in range(12)]),
    "URL of 5 KB (past gunicorn's request line of 4094)": _get("/api/v1/concerts?q=" + "x" * 5_000),
}


@pytest.fixture
def proxy_port(drill_stack) -> int:
    web = drill_stack.start_pool("web", workers=1, threads=2)
    proxy = drill_stack.start_proxy("proxy", queue=web, booking=web, events=web)
    drill_stack.wait_all_ready()
    return proxy.port


def test_refusals_before_django_are_json(proxy_port: int):
    status, headers, body = _raw_request(proxy_port, _get("/api/v1/concerts"))
    assert status == 200 and headers["content-type"] == "application/json"  # the layout works

    answers = {name: _raw_request(proxy_port, request) for name, request in REQUESTS.items()}

    for name, (status, headers, body) in answers.items():
        assert status == 400, f"{name}: {status}"
        assert headers.get("content-type") == "application/json", f"{name}: {headers} {body[:200]!r}"
        assert json.loads(body)["code"] == "BAD_REQUEST", name


def test_answers_through_the_proxy_say_where_their_time_went(proxy_port: int):
    """The load test splits each call's time by this header (loadtest.figures.proxy_timing reads
    this format)."""
    status, headers, _ = _raw_request(proxy_port, _get("/api/v1/concerts"))

    assert status == 200
    assert re.fullmatch(r"proxy-queue;dur=\d+, app;dur=\d+", headers["server-timing"])

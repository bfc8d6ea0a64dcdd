"""The drills and the load test run the service wired as scripts/run deploys it: HAProxy on a port
in front of the pools, each pool on a unix socket of its own (only the proxy reaches them), and a
stopped stack leaves no socket behind; a stack makes its database ready as scripts/run does and
seeds it; the fan pages' event stream is held by the event loop. Real processes (drills/stack.py)."""

import dataclasses
import html
import http.client
import json
import re
import stat
import urllib.request

import pytest

from accounts.models import User
from drills.stack import SetupFailed, Stack
from drills.tests.world import drill_world
from queueing.services import queue_enter


@pytest.mark.drill
def test_the_pools_listen_on_unix_sockets_behind_the_proxy_as_deployed(drill_stack):
    layout = drill_stack.start_deployed_layout(reads=True)
    pools = {name: proc for name, proc in layout.items() if name != "proxy"}

    assert sorted(pools) == ["booking", "events", "queue", "reads"]
    for name, pool in pools.items():
        assert pool.port is None and stat.S_ISSOCK(pool.unix_socket.stat().st_mode), name
        assert pool.get("/readyz")[0] == 200, name
    with urllib.request.urlopen(layout["proxy"].url + "/readyz", timeout=10) as through_the_proxy:
        assert through_the_proxy.status == 200

    socket_dir = pools["queue"].unix_socket.parent
    assert {pool.unix_socket.parent for pool in pools.values()} == {socket_dir}

    drill_stack.stop_all()
    assert not socket_dir.exists()


@pytest.mark.drill
def test_a_stack_makes_its_database_ready_and_seeds_it_or_says_what_failed(drill_stack, tmp_path):
    config = dataclasses.replace(
        drill_stack.config, extra_env=drill_stack.config.extra_env | {"DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    )
    stack = Stack(config, tmp_path / "setup")

    seeded = stack.prepare_and_seed("--fans", "3", "--active-size", "2", out=tmp_path / "fans.json")

    assert len(seeded["fans"]) == 3 and seeded["seats"] > 0
    assert json.loads((tmp_path / "fans.json").read_text()) == seeded
    with pytest.raises(SetupFailed, match="--no-such-option"):
        stack.prepare_and_seed("--no-such-option", out=tmp_path / "again.json")


def _second_fan_logged_in(client):
    """A concert whose one place a first fan holds, and the client logged in as a second fan."""
    world = drill_world(fans=2, active_size=1)
    queue_enter(user_id=world.fans[0].user_id, concert_id=world.concert.pk)
    client.force_login(User.objects.get(pk=world.fans[1].user_id))
    return world.concert


def _url_on_page(client, path: str, attribute: str) -> str:
    return html.unescape(re.search(rf'{attribute}="([^"]+)"', client.get(path).content.decode()).group(1))


def _stream_opened(connection: http.client.HTTPConnection, url: str) -> tuple[http.client.HTTPResponse, list[bytes]]:
    """The stream at `url` (no key, no cookie: its ticket stands for them) and its first event's lines."""
    connection.request("GET", url, headers={"Accept": "text/event-stream"})
    stream = connection.getresponse()
    return stream, [stream.readline() for _ in range(3)]


@pytest.mark.drill
def test_the_waiting_pages_stream_is_held_by_the_event_loop_behind_the_proxy(drill_stack, client):
    """The fan pages' EventSource, as deployed: the page's signed ticket opens a stream that the
    event loop holds (no session machinery there), not gunicorn's one-event answer."""
    concert = _second_fan_logged_in(client)
    client.post(f"/concerts/{concert.pk}/queue/")
    events_url = _url_on_page(client, f"/concerts/{concert.pk}/queue/", "data-events-url")
    layout = drill_stack.start_deployed_layout()

    connection = http.client.HTTPConnection("127.0.0.1", layout["proxy"].port, timeout=20)
    try:
        stream, first_event = _stream_opened(connection, events_url)
    finally:
        connection.close()

    assert stream.status == 200 and stream.getheader("Content-Type").startswith("text/event-stream")
    assert stream.getheader("Content-Length") is None  # held open: gunicorn's answer has a length
    assert first_event[0].startswith(b"retry: ") and first_event[1] == b"event: status\n"
    status = json.loads(first_event[2].removeprefix(b"data: "))
    assert (status["status"], status["position"]) == ("WAITING", 1)


@pytest.mark.drill
def test_the_concert_pages_button_enters_on_the_event_loop_behind_the_proxy(drill_stack, client):
    """The concert page's entry, as deployed: its signed ticket enters the fan on the event loop
    (not Django: no session, no CSRF, none of the middleware's headers), and the answer's stream
    URL opens the place's stream there."""
    concert = _second_fan_logged_in(client)
    entry_url = _url_on_page(client, f"/concerts/{concert.pk}/", "data-enter-url")
    layout = drill_stack.start_deployed_layout()

    connection = http.client.HTTPConnection("127.0.0.1", layout["proxy"].port, timeout=20)
    try:
        connection.request("POST", entry_url, headers={"Accept": "application/json"})  # no key, no cookie
        entered = connection.getresponse()
        place = json.loads(entered.read())
        stream, first_event = _stream_opened(connection, place["events_url"])
    finally:
        connection.close()

    assert entered.status == 201 and (place["status"], place["position"]) == ("WAITING", 1)
    assert entered.getheader("X-Frame-Options") is None  # Django's middleware sets it on every answer
    assert stream.status == 200 and stream.getheader("Content-Length") is None  # held open by the loop
    assert json.loads(first_event[2].removeprefix(b"data: "))["token"] == place["token"]

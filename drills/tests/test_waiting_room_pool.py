"""The deployed layout serves entries and leaves with an API key from the event streams' pool
(config/haproxy/stagegate.cfg, backend "enter": queueing.entering), and the rest of the waiting
room's calls (polls, a session's entry) from the queue pool: with the queue pool stopped, a fan
with an API key still enters and leaves, and a poll gets HAProxy's JSON 503. The website's crowd
goes to the queue pool too, the admitted fans' pages to booking. Real processes
(drills/stack.py)."""

import dataclasses
import json
import re
import urllib.error
import urllib.request

import pytest

from accounts.models import User
from drills.stack import Stack
from drills.tests.world import drill_world


def _request(port: int, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def _call(port: int, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    return _request(port, method, f"/api/v1{path}", headers)


def _page(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    return _request(port, "GET", path, headers)


@pytest.mark.drill
def test_entries_and_leaves_with_an_api_key_go_to_the_event_loop_and_polls_to_the_queue_pool(drill_stack):
    world = drill_world(fans=2, active_size=1)
    layout = drill_stack.start_deployed_layout()
    proxy = layout["proxy"]
    first, second = ({"Authorization": f"Token {fan.api_key}"} for fan in world.fans)

    drill_stack.stop(layout["queue"])

    entered = [_call(proxy.port, "POST", f"/concerts/{world.concert.pk}/queue-tokens", key) for key in (first, second)]
    assert [status for status, _ in entered] == [201, 201]
    first_token, second_token = (json.loads(body)["token"] for _, body in entered)
    assert _call(proxy.port, "DELETE", "/queue-tokens/current", first | {"X-Queue-Token": first_token}) == (204, b"")
    status, again = _call(proxy.port, "DELETE", "/queue-tokens/current", first | {"X-Queue-Token": first_token})
    assert (status, json.loads(again)["code"]) == (404, "TOKEN_NOT_FOUND")
    status, poll = _call(proxy.port, "GET", "/queue-tokens/current", second | {"X-Queue-Token": second_token})
    assert (status, json.loads(poll)["code"]) == (503, "SERVICE_UNAVAILABLE")


@pytest.mark.drill
def test_the_crowds_pages_go_to_the_queue_pool_and_the_admitted_fans_to_booking(drill_stack, client, tmp_path):
    """The website's crowd (the concerts' pages, the waiting room's page, their static files,
    logging in) is served beside the waiting room's API calls: with the booking pool stopped they
    still answer, while an admitted fan's page (the wallet) gets HAProxy's 503."""
    world = drill_world(fans=1, active_size=1)
    client.force_login(User.objects.get(pk=world.fans[0].user_id))
    session = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    # The pages name their static files by the manifest collectstatic writes, as scripts/run does.
    static_root = {"DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    config = dataclasses.replace(drill_stack.config, extra_env=drill_stack.config.extra_env | static_root)
    with Stack(config, tmp_path / "stack") as stack:
        assert stack.manage("collectstatic", "--noinput", "-v", "0").returncode == 0
        layout = stack.start_deployed_layout()
        proxy = layout["proxy"]

        stack.stop(layout["booking"])

        home = _page(proxy.port, "/", session)[1].decode()
        stylesheet = re.search(r'href="(/static/css/stagegate[^"]*\.css)"', home).group(1)
        concert = f"/concerts/{world.concert.pk}/"
        for path in ("/", concert, f"{concert}queue/", "/login/", stylesheet):
            assert _page(proxy.port, path, session)[0] == 200, path
        assert _page(proxy.port, "/wallet/", session)[0] == 503

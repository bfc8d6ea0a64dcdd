"""The deployed layout sends an admitted fan's booking reads (a concert's shows and a show's seat map,
with an API key and a queue token) to their own uvicorn pool (config/haproxy/stagegate.cfg,
backend "reads": reservations.booking_reads), and every other booking call to the booking pool:
with the booking pool stopped, the reads still answer and the rest gets HAProxy's JSON 503. Real
processes (drills/stack.py)."""

import json
import urllib.error
import urllib.request

import pytest

from drills.tests.world import drill_world


def _call(port: int, method: str, path: str, headers: dict[str, str], body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    headers = headers | ({"Content-Type": "application/json"} if body is not None else {})
    url = f"http://127.0.0.1:{port}/api/v1{path}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@pytest.mark.drill
def test_booking_reads_go_to_their_own_pool_and_the_rest_to_booking(drill_stack):
    world = drill_world(fans=1, active_size=5)
    layout = drill_stack.start_deployed_layout(reads=True)
    proxy, booking = layout["proxy"], layout["booking"]
    key = {"Authorization": f"Token {world.fans[0].api_key}"}
    status, entered = _call(proxy.port, "POST", f"/concerts/{world.concert.pk}/queue-tokens", key)
    assert (status, entered["status"]) == (201, "ACTIVE")
    admitted = key | {"X-Queue-Token": entered["token"]}
    seat_map, shows_list = f"/shows/{world.show.pk}/seats", f"/concerts/{world.concert.pk}/shows"
    status, seats = _call(proxy.port, "GET", seat_map, admitted)
    assert status == 200 and len(seats) == 50

    drill_stack.stop(booking)

    status, seats_again = _call(proxy.port, "GET", seat_map, admitted)
    assert (status, seats_again) == (200, seats)
    status, shows = _call(proxy.port, "GET", shows_list, admitted)
    assert (status, [show["id"] for show in shows]) == (200, [world.show.pk])
    hold = {"show_id": world.show.pk, "seat_ids": [seats[0]["id"]]}
    status, held = _call(proxy.port, "POST", "/reservations", admitted, hold)
    assert (status, held["code"]) == (503, "SERVICE_UNAVAILABLE")
    status, by_session = _call(proxy.port, "GET", seat_map, key)  # no X-Queue-Token: the booking pool's
    assert (status, by_session["code"]) == (503, "SERVICE_UNAVAILABLE")

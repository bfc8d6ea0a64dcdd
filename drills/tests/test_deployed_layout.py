"""The drills and the load test run the service wired as scripts/run deploys it: HAProxy on a port
in front of the pools, each pool on a unix socket of its own (only the proxy reaches them), and a
stopped stack leaves no socket behind. Real processes (drills/stack.py)."""

import stat
import urllib.request

import pytest


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

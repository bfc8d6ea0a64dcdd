"""The waiting room on a Redis Cluster (REDIS_CLUSTER_URL): every script stays in its concert's
slot, and the cluster itself refuses one that would not. scripts/test runs the queue tests a
second time against a local cluster of 3 masters and 3 replicas (scripts/redis-cluster.sh);
without REDIS_CLUSTER_URL these tests are skipped (the rest of queueing/tests then run on the
plain Redis)."""

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from redis import Redis
from redis.cluster import RedisCluster
from redis.exceptions import ResponseError

from accounts.authentication import api_key_cache_key
from core.redis import queue_redis, redis_client, redis_key
from queueing.scripts import _PRELUDE, SCRIPTS, concert_key, concert_keys
from queueing.tests.factories import concert_on_sale
from queueing.tests.test_api import enter, fan, poll

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("queueing.tests.urls"),
    pytest.mark.skipif(not django_settings.REDIS_CLUSTER_URL, reason="needs REDIS_CLUSTER_URL (scripts/test sets it)"),
]

# A script as ours are made (the shared prelude), whose body also writes a key it was not given:
# another concert's, named in ARGV.
_STRAY_BODY = """
redis.call('HSET', meta, 'probe', '1')
redis.call('SET', ARGV[1], '1')
return 1
"""


def cluster() -> RedisCluster:
    client = queue_redis()
    assert isinstance(client, RedisCluster)
    return client


def neighbour_concert(concert_id: int) -> int:
    """Another concert whose keys are on the same master as `concert_id`'s but in another slot:
    only the slot check, not the node's ownership, can refuse a script that touches both."""
    client = cluster()
    node = client.get_node_from_key(concert_key(concert_id, "meta"))
    for other in range(concert_id + 1, concert_id + 10_000):
        key = concert_key(other, "meta")
        if client.get_node_from_key(key).name == node.name and client.keyslot(key) != client.keyslot(
            concert_key(concert_id, "meta")
        ):
            return other
    raise AssertionError("no other slot on that node")


def master_of(concert_id: int) -> Redis:
    """A plain connection to the master serving the concert's slot (no client-side slot checks)."""
    client = cluster()
    node = client.get_node_from_key(concert_key(concert_id, "meta"))
    return Redis(host=node.host, port=node.port)


def test_a_concerts_keys_are_all_in_one_slot():
    client = cluster()
    keys = [*concert_keys(7), concert_key(7, "rate:user:1:123"), concert_key(7, "rate:ip:10.0.0.1:123")]
    assert len({client.keyslot(key) for key in keys}) == 1


def test_the_room_is_on_the_cluster_and_the_api_keys_on_the_plain_redis():
    """Entering reads the API key's cache entry on the plain Redis, then runs the enter script on
    the cluster; polling likewise. Each store holds only its own keys."""
    concert = concert_on_sale(queue_active_size=1)
    enter(fan(), concert.pk)
    client = fan()

    entered = enter(client, concert.pk)
    polled = poll(client, entered.json()["token"])

    assert entered.status_code == 201 and polled.status_code == 200
    assert polled.json()["position"] == 1
    users = concert_keys(concert.pk)[3]
    assert cluster().hget(users, client.user.pk).decode() == entered.json()["token"]
    assert not redis_client().exists(users)
    cache_key = api_key_cache_key(client.api_key)
    assert redis_client().get(cache_key) is not None
    assert not cluster().exists(cache_key)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: script.name)
def test_a_script_given_keys_of_two_slots_is_refused_by_the_cluster(script):
    """The node itself answers CROSSSLOT ("Keys in request don't hash to the same slot"; sent
    straight to it, past redis-py's own check)."""
    concert_id = concert_on_sale().pk
    keys = concert_keys(concert_id)
    keys[-1] = concert_keys(neighbour_concert(concert_id))[-1]

    with pytest.raises(ResponseError, match="don't hash to the same slot"):
        master_of(concert_id).eval(script.source, len(keys), *keys)


def test_a_script_that_strays_into_another_slot_is_refused_and_changes_nothing():
    """What makes every script's one slot a checked fact, not a convention: with the prelude's
    `#!lua` flag line, a script touching a key of another slot than its KEYS' is refused by the
    node. The whole queue suite runs on the cluster (scripts/test), so each real script has been
    through this check. Without the flag line the node lets it through (the old behaviour of
    scripts in Redis 7), which is why the prelude starts with it."""
    concert_id = concert_on_sale().pk
    keys = concert_keys(concert_id)
    stray = redis_key("queue", f"{{c{neighbour_concert(concert_id)}}}", "meta")
    node = master_of(concert_id)

    with pytest.raises(ResponseError, match="do not hash to the same slot"):
        node.eval(_PRELUDE + _STRAY_BODY, len(keys), *keys, stray)
    assert not cluster().exists(stray)

    unflagged = _PRELUDE.removeprefix("#!lua\n")
    assert node.eval(unflagged + _STRAY_BODY, len(keys), *keys, stray) == 1  # would have slipped through
    assert cluster().exists(stray)


def test_every_script_carries_the_flag_line():
    assert all(script.source.startswith("#!lua\n") for script in SCRIPTS)


@pytest.mark.urls("config.urls")
def test_readyz_checks_the_cluster_too(client):
    assert client.get("/readyz").json()["checks"] == {"postgresql": "ok", "redis": "ok", "redis_cluster": "ok"}

    with override_settings(REDIS_CLUSTER_URL="redis://127.0.0.1:1/0"):  # nothing listens on port 1
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis_cluster"] == "unavailable"

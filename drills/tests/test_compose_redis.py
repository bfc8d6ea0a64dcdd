"""docker compose runs Redis with persistence, so a restart keeps the waiting rooms (issue 13
item 9). The redis service's own command line from docker-compose.yml runs a real redis-server
(on a free port, its data in a temporary directory instead of the container's /data volume);
it is stopped and started again, and the waiting room it held is still there."""

import subprocess
import time

import pytest
import redis
import yaml

from drills.stack import ROOT, free_port


def _compose_redis() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["redis"]


def _start(command: list[str], port: int, data_dir) -> tuple[subprocess.Popen, redis.Redis]:
    assert command[0] == "redis-server"
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc, client
        except redis.ConnectionError:
            time.sleep(0.05)  # the server starting, not a time rule of the service
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.mark.drill
def test_compose_redis_keeps_the_waiting_room_across_a_restart(tmp_path):
    service = _compose_redis()
    command = service["command"]
    port = free_port()

    proc, client = _start(command, port, tmp_path)
    try:
        client.zadd("sg:queue:{c1}:waiting", {"1.token": 1})
        client.hset("sg:queue:{c1}:meta", mapping={"seq": 1, "paused": "1"})
        client.shutdown()  # what `docker compose restart redis` does: SIGTERM, a clean stop
    except redis.ConnectionError:
        pass
    finally:
        proc.wait(timeout=10)

    proc, client = _start(command, port, tmp_path)
    try:
        assert client.zrange("sg:queue:{c1}:waiting", 0, -1) == [b"1.token"]
        assert client.hget("sg:queue:{c1}:meta", "paused") == b"1"
    finally:
        proc.kill()
        proc.wait(timeout=10)
    # A crash (kill -9) loses at most the last second of writes; the data lives in a volume.
    assert command[command.index("--appendfsync") + 1] == "everysec"
    assert any(volume.endswith(":/data") for volume in service.get("volumes", []))

"""For the locust CLI: `locust -f loadtest/locustfile.py --headless ...` with LOADTEST_CONFIG set to
a rush config (see loadtest.run, which writes one per run). scripts/loadtest drives the same Fan
through locust's Python API (loadtest.rush), one master and --load-generator-workers workers, and
is the documented way to run the load test. The CLI's own distributed mode works too (--master on
one, --worker on the others): the fans are drawn from one counter in Redis, reset by the master."""

import json
import os

from locust import events
from locust.runners import WorkerRunner

from loadtest import rush
from loadtest.rush import Fan, Rush

__all__ = ["Fan"]


@events.init.add_listener
def _init(environment, **kwargs) -> None:
    with open(os.environ["LOADTEST_CONFIG"]) as fh:
        rush.RUSH = Rush(json.load(fh))
    if not isinstance(environment.runner, WorkerRunner):
        rush.RUSH.reset_fan_counter()

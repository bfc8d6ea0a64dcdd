"""The waiting room's metrics, registered with core.metrics in QueueingConfig.ready."""

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily

from core.clock import clock
from core.metrics import counter_define, scrape_collector_register
from queueing.selectors import concerts_on_sale, queue_stats


def waiting_room_gauges() -> Iterator[GaugeMetricFamily]:
    """Every waiting room on sale: fans waiting and fans admitted, read from Redis at scrape time."""
    waiting = GaugeMetricFamily("stagegate_queue_waiting", "Fans waiting per concert", labels=["concert"])
    active = GaugeMetricFamily("stagegate_queue_active", "Fans admitted (active) per concert", labels=["concert"])
    for policy in concerts_on_sale(now=clock.now()):
        stats = queue_stats(concert_id=policy.concert_id)
        waiting.add_metric([str(policy.concert_id)], stats.waiting)
        active.add_metric([str(policy.concert_id)], stats.active)
    yield waiting
    yield active


def metrics_register() -> None:
    counter_define("queue_admissions", "Fans admitted from a waiting room into booking", ("concert",))
    counter_define("queue_abandoned", "Waiting fans who lost their place by not polling", ("concert",))
    scrape_collector_register(waiting_room_gauges)

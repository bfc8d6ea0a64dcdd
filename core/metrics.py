"""Prometheus metrics at /metrics.

- HTTP request metrics: django-prometheus middleware (per gunicorn worker; config/gunicorn.py
  sets PROMETHEUS_MULTIPROC_DIR so all workers of an instance are summed).
- Domain counters (admissions, holds, expirations, payments by outcome, points charged) and
  Celery task durations are counted in Redis, because they happen in web instances and Celery
  workers alike: every instance's /metrics shows the same totals. `metric_incr` never fails the
  business operation it counts.
- The apps define their counters (counter_define) and add numbers read at scrape time
  (scrape_collector_register, e.g. the waiting rooms' gauges) in their AppConfig.ready: core
  reads no app's data.
- CPU time of the requests per view (RequestCpuMiddleware): the load test's "where the server CPU
  went". Kept like django-prometheus's metrics (per gunicorn worker, summed by /metrics).

/metrics is not public: it tells sales, queue sizes and load to anyone who asks. With
METRICS_TOKEN set a scrape needs `Authorization: Bearer <METRICS_TOKEN>`; without it (development)
only this machine may read it, and not through a proxy (HAProxy adds X-Forwarded-For).
"""

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable

import prometheus_client
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import multiprocess
from prometheus_client.core import CounterMetricFamily, Metric, SummaryMetricFamily
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError

from core.exception_handlers import error_body
from core.redis import redis_client, redis_key, redis_text

logger = logging.getLogger(__name__)

# name -> (help, label names), defined by the apps that count them (counter_define, in their
# AppConfig.ready). Values are kept in one Redis hash, field "name|label=value,...".
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {}
# Functions yielding metric families read at scrape time (scrape_collector_register), by name.
_SCRAPE_COLLECTORS: dict[str, Callable[[], Iterable[Metric]]] = {}
_TASK_SECONDS = "celery_task_seconds"

# Exported as stagegate_request_cpu_seconds_total. A process-local counter, so in multiprocess
# mode (gunicorn) each worker writes its own file and /metrics sums them.
REQUEST_CPU_SECONDS = prometheus_client.Counter(
    "stagegate_request_cpu_seconds",
    "CPU time of the thread serving the request, inside the Django middleware stack, by view and method",
    ["view", "method"],
)
# Any other method string a client sends is one label value, not one per string.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class RequestCpuMiddleware:
    """Adds the CPU time the request's thread spent below this middleware to
    stagegate_request_cpu_seconds{view, method}. Thread CPU, not wall time: gunicorn's gthread
    workers serve several requests at once, and waits on PostgreSQL or Redis cost nothing here.
    It goes right after PrometheusBeforeMiddleware, so it covers the rest of the middleware and
    the view; gunicorn's own work (accepting, parsing, writing the answer) stays outside. Costs a
    few microseconds (two clock reads and a counter increment)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # (view, method) -> the counter's child: labels() takes a lock and costs about as much
        # as the increment itself. Views and methods are few, so this stays small.
        self._counters: dict[tuple[str, str], prometheus_client.Counter] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.thread_time()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)  # set once the URL resolved
        key = (
            match.view_name if match is not None else "unresolved",
            request.method if request.method in _KNOWN_METHODS else "other",
        )
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUEST_CPU_SECONDS.labels(*key)
        counter.inc(time.thread_time() - started)
        return response


def counter_define(name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
    """Export the domain counter `name` as stagegate_<name>_total (an app calls it in its
    AppConfig.ready for each counter it counts with metric_incr)."""
    COUNTERS[name] = (help_text, labels)


def scrape_collector_register(collect: Callable[[], Iterable[Metric]]) -> None:
    """Have /metrics also show what `collect()` yields, read at each scrape (an app's live numbers,
    e.g. the waiting rooms' gauges: queueing registers them in its AppConfig.ready)."""
    _SCRAPE_COLLECTORS[f"{collect.__module__}.{collect.__qualname__}"] = collect


def _counters_key() -> str:
    return redis_key("metrics", "counters")


def _field(name: str, labels: dict[str, object]) -> str:
    return name + "|" + ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def metric_incr(name: str, amount: float = 1, **labels: object) -> None:
    """Add to a domain counter (call it after the commit of what it counts)."""
    try:
        metric_incr_in(redis_client(), name, amount, **labels)
    except RedisError:
        logger.warning("metric %s not counted: Redis unavailable", name)


def metric_incr_command(name: str, amount: float = 1, **labels: object) -> tuple[object, ...]:
    """The Redis command that adds to a domain counter, for a caller that sends it with others
    (an event loop's batch of Redis calls: queueing.aio.redis_command_batched)."""
    return ("HINCRBYFLOAT", _counters_key(), _field(name, labels), amount)


def metric_incr_in(client: Redis | Pipeline, name: str, amount: float = 1, **labels: object) -> None:
    """Add to a domain counter through `client`: a pipeline sends it with the other writes of the
    same step (core.redis.redis_writes_on_commit)."""
    client.execute_command(*metric_incr_command(name, amount, **labels))


def metric_incr_on_commit(name: str, amount: float = 1, **labels: object) -> None:
    """Count it if, and when, the current transaction commits."""
    transaction.on_commit(lambda: metric_incr(name, amount, **labels))


@task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs) -> None:
    task.request.stagegate_started = time.monotonic()


@task_postrun.connect
def _task_finished(task_id=None, task=None, **kwargs) -> None:
    started = getattr(task.request, "stagegate_started", None)
    if started is None:
        return
    try:
        with redis_client().pipeline(transaction=False) as pipe:
            pipe.hincrbyfloat(
                _counters_key(), _field(_TASK_SECONDS + "_sum", {"task": task.name}), time.monotonic() - started
            )
            pipe.hincrbyfloat(_counters_key(), _field(_TASK_SECONDS + "_count", {"task": task.name}), 1)
            pipe.execute()
    except RedisError:
        logger.warning("duration of task %s not recorded: Redis unavailable", task.name)


class DomainCollector:
    """Reads the Redis-kept counters and the apps' live numbers (scrape_collector_register) at
    scrape time."""

    def collect(self):
        raw = {redis_text(k): float(v) for k, v in redis_client().hgetall(_counters_key()).items()}
        parsed: dict[str, list[tuple[dict[str, str], float]]] = {}
        for field, value in raw.items():
            name, _, label_text = field.partition("|")
            labels = dict(pair.split("=", 1) for pair in label_text.split(",") if pair)
            parsed.setdefault(name, []).append((labels, value))

        for name, (help_text, label_names) in COUNTERS.items():
            family = CounterMetricFamily(f"stagegate_{name}", help_text, labels=list(label_names))
            for labels, value in parsed.get(name, []):
                family.add_metric([labels.get(label, "") for label in label_names], value)
            yield family

        durations = SummaryMetricFamily(
            "stagegate_celery_task_duration_seconds", "Celery task run time", labels=["task"]
        )
        sums = {labels["task"]: value for labels, value in parsed.get(_TASK_SECONDS + "_sum", [])}
        for labels, count in parsed.get(_TASK_SECONDS + "_count", []):
            durations.add_metric([labels["task"]], count_value=count, sum_value=sums.get(labels["task"], 0.0))
        yield durations

        for collect in _SCRAPE_COLLECTORS.values():
            yield from collect()


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def metrics_access_refused(request: HttpRequest) -> HttpResponse | None:
    """None if the caller may read /metrics, else the answer (401 or 403)."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        body = error_body("NOT_AUTHENTICATED", "Send Authorization: Bearer <METRICS_TOKEN>.")
        response = JsonResponse(body, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    if _is_loopback(request.META.get("REMOTE_ADDR", "")) and "HTTP_X_FORWARDED_FOR" not in request.META:
        return None
    return JsonResponse(
        error_body("PERMISSION_DENIED", "Metrics are readable from this machine only unless METRICS_TOKEN is set."),
        status=403,
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = metrics_access_refused(request)
    if refused is not None:
        return refused
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.CollectorRegistry()
        registry.register(prometheus_client.REGISTRY)  # django-prometheus's request metrics
    registry.register(DomainCollector())
    return HttpResponse(prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST)

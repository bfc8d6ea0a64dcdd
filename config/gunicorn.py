"""Gunicorn settings for the web service (scripts/run, docker-compose, the load test)."""

import multiprocessing
import os
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# cores + 1 processes of 4 threads: the threads cover waits on PostgreSQL and Redis; more
# processes than that only add context switches (scripts/bench-queue on 2 cores: 3 workers served 15%
# more requests/s than gunicorn's usual 2 x cores + 1, and the queue endpoints gained most).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# Behind HAProxy (config/haproxy/) every request comes on its own connection: set this to `threads`
# so that a worker whose threads are all busy takes no more, and the next request goes to a
# worker with a free thread. Serving clients directly (keep-alive), leave gunicorn's default.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# Empty: no access log. Pointing it at /dev/null is not the same: gunicorn still formats every
# line (0.1 ms a request here, a sixth of a static file's whole cost through gunicorn).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"

# Prometheus: the workers of this instance write their request metrics to one directory, which
# /metrics sums (prometheus_client multiprocess mode). Set before the workers start; made only
# where none is given (setdefault's argument would make an unused one every time this file is read).
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="stagegate-prometheus-")


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    from config.celery import publishing_warm_up

    publishing_warm_up()

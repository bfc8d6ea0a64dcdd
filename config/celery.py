import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("stagegate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def publishing_warm_up() -> None:
    """Set up now what Celery sets up on a process's first publish: its messaging module, the
    broker's transport (an import) and the result backend (a scan of the installed packages' entry
    points). A web worker does this before it serves (config/gunicorn.py): else a fan's refund or
    charge in the rush pays for it, about 0.1 s of the worker's CPU with the import lock held."""
    app.finalize(auto=True)  # the tasks' classes
    app.backend  # noqa: B018 - each of these is built on first access
    app.amqp.send_task_message  # noqa: B018 - the publisher, and its event dispatcher
    app.producer_pool  # noqa: B018 - imports the transport; connects only when a publish needs it

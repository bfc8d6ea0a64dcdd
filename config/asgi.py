"""The ASGI entry point (uvicorn): the waiting room's event streams (queueing.events) are served
by a bare ASGI app, everything else by Django. Deployed as its own pool behind HAProxy, which
sends it only the streams (config/haproxy/stagegate.cfg)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_application = get_asgi_application()

from queueing.events import EVENTS_PATH, queue_events_app  # noqa: E402 - needs Django set up


async def application(scope, receive, send) -> None:
    if scope["type"] == "http" and scope["path"] == EVENTS_PATH:
        await queue_events_app(scope, receive, send)
    else:
        await django_application(scope, receive, send)

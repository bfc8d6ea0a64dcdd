"""The ASGI entry point (uvicorn): the waiting room's event streams (queueing.events) and entries
with an API key (queueing.entering) are served by bare ASGI apps, everything else by Django.
Deployed as its own pool behind HAProxy, which sends it only those two
(config/haproxy/stagegate.cfg)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_application = get_asgi_application()

from queueing.entering import enter_route, queue_enter_app  # noqa: E402 - needs Django set up
from queueing.events import EVENTS_PATH, queue_events_app  # noqa: E402


async def application(scope, receive, send) -> None:
    if scope["type"] == "http":
        if scope["path"] == EVENTS_PATH:
            await queue_events_app(scope, receive, send)
            return
        concert_id = enter_route(scope)
        if concert_id is not None:
            await queue_enter_app(scope, receive, send, concert_id=concert_id)
            return
    await django_application(scope, receive, send)

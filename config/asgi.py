"""The ASGI entry point (uvicorn): the waiting room's event streams (queueing.events), entries
with an API key (queueing.entering) and seat-map reads with an API key and a queue token
(reservations.booking_reads) are served by bare ASGI apps, everything else by Django.
Deployed as two pools behind HAProxy (config/haproxy/stagegate.cfg): the waiting room's (streams
and entries, niced) and the booking reads' (seat maps, at the booking path's priority); each gets
only its own calls."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_application = get_asgi_application()

from queueing.entering import enter_route, queue_enter_app  # noqa: E402 - needs Django set up
from queueing.events import EVENTS_PATH, queue_events_app  # noqa: E402
from reservations.booking_reads import seat_map_app, seat_map_route  # noqa: E402


async def application(scope, receive, send) -> None:
    if scope["type"] == "http":
        if scope["path"] == EVENTS_PATH:
            await queue_events_app(scope, receive, send)
            return
        concert_id = enter_route(scope)
        if concert_id is not None:
            await queue_enter_app(scope, receive, send, concert_id=concert_id)
            return
        show_id = seat_map_route(scope)
        if show_id is not None:
            await seat_map_app(scope, receive, send, show_id=show_id)
            return
    await django_application(scope, receive, send)

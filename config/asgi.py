"""The ASGI entry point (uvicorn): the waiting room's event streams (queueing.events), entries
and leaves with an API key (queueing.entering) and the booking reads (shows, seat maps) with an API key and
a queue token (reservations.booking_reads) are served by bare ASGI apps, everything else by Django.
Deployed as two pools behind HAProxy (config/haproxy/stagegate.cfg): the waiting room's (streams
and entries, niced) and the booking reads' (at the booking path's priority); each gets
only its own calls."""

import gc
import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_application = get_asgi_application()

from queueing.entering import enter_route, leave_route, queue_enter_app, queue_leave_app  # noqa: E402 - needs Django set up
from queueing.events import EVENTS_PATH, queue_events_app  # noqa: E402
from reservations.booking_reads import booking_read_app, booking_read_route  # noqa: E402

# Everything loaded so far (Django, the apps, their modules) lives as long as the process:
# kept out of the garbage collector's full passes, which otherwise walk it all again and again.
gc.freeze()
gc.set_threshold(settings.ASGI_GC_THRESHOLD, *gc.get_threshold()[1:])


async def application(scope, receive, send) -> None:
    if scope["type"] == "http":
        if scope["path"] == EVENTS_PATH:
            await queue_events_app(scope, receive, send)
            return
        concert_id = enter_route(scope)
        if concert_id is not None:
            await queue_enter_app(scope, receive, send, concert_id=concert_id)
            return
        if leave_route(scope):
            await queue_leave_app(scope, receive, send)
            return
        booking_read = booking_read_route(scope)
        if booking_read is not None:
            await booking_read_app(scope, receive, send, read=booking_read[0], object_id=booking_read[1])
            return
    await django_application(scope, receive, send)

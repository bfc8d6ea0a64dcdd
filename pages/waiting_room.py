"""The waiting room: entering, the live place in line, leaving; the pages of a full room, a
closed sale and a place that ended."""

import contextlib

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from concerts.exceptions import ConcertNotFound, ShowNotFound
from concerts.seat_map import show_list_for_booking
from concerts.selectors import concert_get_cached, show_get_cached
from core.clock import clock
from core.exception_handlers import refusal_headers_set
from core.exceptions import RateLimited
from core.throttling import client_ip
from pages.booking import (
    session_queue_admitted_mark,
    session_queue_end_reason,
    session_queue_token,
    session_queue_token_forget,
    session_queue_token_store,
)
from pages.common import fan_required, outage_page, waiting_room_url
from queueing.events import events_url
from queueing.exceptions import BookingClosed, QueueFull, TokenNotFound
from queueing.selectors import QueueTokenStatus, queue_status
from queueing.services import queue_enter, queue_leave, queue_stream_ticket_issue


def _requested_show_id(request: HttpRequest, concert_id: int) -> int | None:
    raw = request.POST.get("show") or request.GET.get("show")
    if not raw or not raw.isdigit():
        return None
    try:
        show = show_get_cached(show_id=int(raw))
    except ShowNotFound:
        return None
    return show.pk if show.concert_id == concert_id else None


@fan_required
@require_http_methods(["GET", "POST"])
@outage_page
def waiting_room(request: HttpRequest, concert_id: int) -> HttpResponse:
    """POST enters the room (then shows it); GET shows where the fan stands, live. The crowd's
    pages: the concert and its shows come from the catalog memo and the kept seat maps, as on
    the booking path (pages.catalog.concert_detail)."""
    try:
        concert = concert_get_cached(concert_id=concert_id)
    except ConcertNotFound as exc:
        raise Http404 from exc
    show_id = _requested_show_id(request, concert.pk)
    context = {"concert": concert, "show_id": show_id}

    if request.method == "POST":
        try:
            current = queue_enter(user_id=request.user.pk, concert_id=concert.pk, client_ip=client_ip(request))
        except RateLimited as exc:
            context["retry_after_seconds"] = exc.extra["retry_after_seconds"]
            context["rate_limited"] = True
            return refusal_headers_set(render(request, "pages/unavailable.html", context, status=exc.status), exc)
        except QueueFull as exc:
            context["retry_after_seconds"] = exc.extra.get("retry_after_seconds")
            return refusal_headers_set(render(request, "pages/queue_full.html", context, status=exc.status), exc)
        except BookingClosed:
            return render(request, "pages/sale_closed.html", context, status=409)
        except ConcertNotFound as exc:
            raise Http404 from exc
        session_queue_token_store(request, concert.pk, current.token)
        return redirect(waiting_room_url(concert.pk, show_id))

    # ?token=: the concert page entered without the session (static/js/enter.js) and hands the
    # place over here, on a reload or once admitted; it counts only if it is the fan's, of this concert.
    claimed = request.GET.get("token")
    token = claimed or session_queue_token(request, concert.pk)
    if token is None:
        return render(request, "pages/queue_enter.html", context)
    try:
        current = queue_status(user_id=request.user.pk, token=token)
        if current.concert_id != concert.pk:
            raise TokenNotFound()
    except TokenNotFound:
        context["end_reason"] = session_queue_end_reason(request, concert.pk)
        if token == session_queue_token(request, concert.pk):
            session_queue_token_forget(request, concert.pk)
        return render(request, "pages/queue_expired.html", context, status=410)
    if claimed:
        session_queue_token_store(request, concert.pk, claimed)

    context["queue"] = current
    if current.status is QueueTokenStatus.ACTIVE:
        session_queue_admitted_mark(request, concert.pk)
        if show_id is not None:
            return redirect("pages:seat-map", show_id=show_id)
        context["now"] = clock.now()
        context["shows"] = show_list_for_booking(concert_id=concert.pk, now=context["now"])
        return render(request, "pages/queue_admitted.html", context)
    context["next_url"] = reverse("pages:seat-map", args=[show_id]) if show_id else waiting_room_url(concert.pk)
    context["poll_url"] = reverse("queue-token-current")
    # Told instead of asking: the page follows an event stream, which the event loop serves
    # without a session; the signed ticket names the fan and the token (polling stays the fallback).
    context["events_url"] = events_url(queue_stream_ticket_issue(user_id=request.user.pk, token=current.token))
    # PREQUEUE (before booking opens): no position yet, a countdown to the opening instead.
    context["prequeue"] = current.status is QueueTokenStatus.PREQUEUE
    context["countdown"] = _countdown(current.seconds_until_open)
    return render(request, "pages/queue_waiting.html", context)


def _countdown(seconds: int | None) -> str:
    """h:mm:ss or m:ss (queue.js counts down in the same format)."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@fan_required
@require_POST
@outage_page
def waiting_room_leave(request: HttpRequest, concert_id: int) -> HttpResponse:
    # The form names the place: the concert page's waiting room entered without the session.
    token = session_queue_token(request, concert_id) or request.POST.get("token") or None
    if token is not None:
        with contextlib.suppress(TokenNotFound):  # already gone, or not the fan's: nothing to leave
            queue_leave(user_id=request.user.pk, token=token)
        session_queue_token_forget(request, concert_id)
    messages.info(request, _("You left the waiting room."))
    return redirect("pages:concert-detail", concert_id=concert_id)

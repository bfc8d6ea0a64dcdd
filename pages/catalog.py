"""The catalog: the concerts and a concert's shows, with when booking opens."""

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import get_language

from concerts.exceptions import ConcertNotFound
from concerts.models import Concert
from concerts.seat_map import show_list_for_booking
from concerts.selectors import ShowStatus, concert_get_cached, concert_list
from core.clock import clock
from pages.booking import session_queue_token
from pages.shells import Kept, hole, shell_fill
from queueing.selectors import concert_queue_policy_cached
from queueing.services import queue_entry_ticket_issue


def concert_list_page(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/concert_list.html", {"concerts": concert_list(now=clock.now())})


# A countdown to the opening is shown once it is this close; before that, the date says enough.
OPENING_COUNTDOWN_FROM = timedelta(hours=24)


def _opening_context(policy, now: datetime) -> dict:
    """Before the sale: when booking opens (with a countdown on its last day) and when the
    waiting room's pre-queue opens."""
    if policy is None or policy.booking_open or policy.opens_at is None or policy.opens_at <= now:
        return {"next_opening": None}
    until = policy.opens_at - now
    return {
        "next_opening": policy.opens_at,
        "seconds_to_opening": int(until.total_seconds()) if until <= OPENING_COUNTDOWN_FROM else None,
        "prequeue_opens_at": policy.prequeue_opens_at if policy.prequeue_minutes else None,
    }


# The concert page's body per (concert, language, signed in, in line), with the clock's second it
# was drawn for (pages.shells): in the rush every arriving website fan loads this page.
_concert_bodies: Kept[str] = Kept()


def _concert_body_draw(concert: Concert, now: datetime, *, signed_in: bool, in_queue: bool) -> str:
    # The body reads what the booking path keeps: the concert and its shows from the catalog memo,
    # their remaining seats from the kept seat maps and the room's policy from its cache, so that it
    # runs no SQL while they are fresh (an organizer's edit shows within seconds).
    shows = show_list_for_booking(concert_id=concert.pk, now=now)
    policy = concert_queue_policy_cached(concert_id=concert.pk, now=now)
    context = {
        "concert": concert,
        "concert_path": reverse("pages:concert-detail", args=[concert.pk]),
        "now": now,
        "shows": shows,
        "any_open": any(s.status == ShowStatus.AVAILABLE for s in shows),
        # Before the sale: the pre-queue is open, everyone in it gets a fair random place at the opening.
        "prequeue_open": policy is not None and policy.in_prequeue(now),
        **_opening_context(policy, now),
        "booking_opens_at": min((s.show.booking_opens_at for s in shows), default=None),
        "booking_closes_at": max((s.show.booking_closes_at for s in shows), default=None),
        "signed_in": signed_in,
        "in_queue": in_queue,
        "csrf_token": hole("csrf_token"),
    }
    if signed_in and not in_queue:
        # The page's buttons enter on the event loop (static/js/enter.js): in the rush, the form's
        # POST and the waiting page it leads to cost Django more than this whole page.
        context["entry_url"] = hole("entry_url")
        context["poll_url"] = reverse("queue-token-current")
    return render_to_string("pages/_concert_detail_body.html", context)


def _drawn_for(now: datetime) -> object:
    """The stamp of a body drawn now: the clock's second (its countdown, and the shows' opening to
    the second), or, with CONCERT_PAGE_KEEP_SECONDS 0, a stamp no later request matches."""
    keep = settings.CONCERT_PAGE_KEEP_SECONDS
    return now.timestamp() // keep if keep > 0 else object()


def concert_detail(request: HttpRequest, concert_id: int) -> HttpResponse:
    try:
        concert = concert_get_cached(concert_id=concert_id)
    except ConcertNotFound as exc:
        raise Http404 from exc
    now = clock.now()
    signed_in = request.user.is_authenticated
    in_queue = signed_in and session_queue_token(request, concert.pk) is not None
    body = _concert_bodies.get(
        (concert.pk, get_language(), signed_in, in_queue),
        _drawn_for(now),
        lambda: _concert_body_draw(concert, now, signed_in=signed_in, in_queue=in_queue),
    )
    values = {"csrf_token": get_token(request)}
    if signed_in and not in_queue:
        ticket = queue_entry_ticket_issue(user_id=request.user.pk, concert_id=concert.pk)
        values["entry_url"] = f"{reverse('queue-token-create', args=[concert.pk])}?{urlencode({'ticket': ticket})}"
    # The body's token serves the header too (pages.site_header): one masked token per page.
    context = {"concert": concert, "body": shell_fill(body, values), "csrf_token": values["csrf_token"]}
    return render(request, "pages/concert_detail.html", context)

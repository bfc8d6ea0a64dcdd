"""The catalog: the concerts and a concert's shows, with when booking opens."""

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from concerts.exceptions import ConcertNotFound
from concerts.seat_map import show_list_for_booking
from concerts.selectors import ShowStatus, concert_get_cached, concert_list
from core.clock import clock
from pages.booking import session_queue_token
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


def concert_detail(request: HttpRequest, concert_id: int) -> HttpResponse:
    # The page the crowd reloads while it waits for the opening reads what the booking path keeps:
    # the concert and its shows from the catalog memo, their remaining seats from the kept seat maps
    # and the room's policy from its cache, so that it runs no SQL while they are fresh (an
    # organizer's edit shows within seconds; the opening and bookability are decided by the clock).
    try:
        concert = concert_get_cached(concert_id=concert_id)
    except ConcertNotFound as exc:
        raise Http404 from exc
    now = clock.now()
    shows = show_list_for_booking(concert_id=concert.pk, now=now)
    policy = concert_queue_policy_cached(concert_id=concert.pk, now=now)
    context = {
        "concert": concert,
        "now": now,
        "shows": shows,
        "any_open": any(s.status == ShowStatus.AVAILABLE for s in shows),
        # Before the sale: the pre-queue is open, everyone in it gets a fair random place at the opening.
        "prequeue_open": policy is not None and policy.in_prequeue(now),
        **_opening_context(policy, now),
        "booking_opens_at": min((s.show.booking_opens_at for s in shows), default=None),
        "booking_closes_at": max((s.show.booking_closes_at for s in shows), default=None),
        "in_queue": request.user.is_authenticated and session_queue_token(request, concert.pk) is not None,
    }
    if request.user.is_authenticated and not context["in_queue"]:
        # The page's buttons enter on the event loop (static/js/enter.js): in the rush, the form's
        # POST and the waiting page it leads to cost Django more than this whole page.
        ticket = queue_entry_ticket_issue(user_id=request.user.pk, concert_id=concert.pk)
        context["entry_url"] = f"{reverse('queue-token-create', args=[concert.pk])}?{urlencode({'ticket': ticket})}"
        context["poll_url"] = reverse("queue-token-current")
    return render(request, "pages/concert_detail.html", context)

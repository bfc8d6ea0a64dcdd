"""The seat-map page's helpers: the live seat snapshot it polls, and best available.

The snapshot is concerts.seat_map's kept JSON body of the show (the same body and ETag as the
booking API's GET /shows/{id}/seats), behind the page's own check: a logged-in fan with an active
booking session of the concert in their session (pages.booking), as for the seat map itself.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from redis.exceptions import RedisError

from concerts.exceptions import ShowNotFound
from concerts.models import SeatGrade
from concerts.seat_map import show_seat_map, shows_availability
from concerts.selectors import best_available_seats, show_get, show_get_cached
from core.clock import clock
from core.exception_handlers import error_response
from core.exceptions import ApplicationError, NotAuthenticated, ServiceUnavailable, ValidationFailed
from pages.booking import booking_session
from pages.common import fan_required, not_admitted, outage_page
from pages.forms import BestAvailableForm, HoldForm, form_errors_from
from pages.seat_grid import seat_grid, seat_grid_html
from queueing.exceptions import QueueNotActive
from reservations.apis import seat_map_response
from reservations.exceptions import SeatLimitExceeded, SeatUnavailable, ShowNotBookable
from reservations.services import reservation_hold

logger = logging.getLogger(__name__)


def _refusal(error: ApplicationError) -> JsonResponse:
    return error_response(error)


@require_GET
def seat_map_snapshot(request: HttpRequest, show_id: int) -> HttpResponse:
    """The show's seats as JSON for the page's refresh: 200 with an ETag, or 304 while the map is
    the one named in If-None-Match. 401 when logged out, 403 without a booking session."""
    if not request.user.is_authenticated:
        return _refusal(NotAuthenticated(_("Log in first.")))
    try:
        show = show_get_cached(show_id=show_id)
        if booking_session(request, show.concert_id) is None:
            return _refusal(QueueNotActive())
        seat_map = show_seat_map(show=show, now=clock.now())
    except (ShowNotFound, ServiceUnavailable) as exc:
        return _refusal(exc)
    except RedisError:
        # The seat map's version is in Redis: the page keeps what it shows and asks again later.
        logger.exception("seat map snapshot unavailable")
        return _refusal(ServiceUnavailable(retry_after_seconds=settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS))
    return seat_map_response(seat_map, request)


@fan_required
@require_POST
@outage_page
def seat_map_best(request: HttpRequest, show_id: int) -> HttpResponse:
    """Best available: hold the N best free seats side by side in a grade, then on to payment.
    Any refusal goes back to the seat map with a message saying what to do."""
    try:
        show = show_get(show_id=show_id)
    except ShowNotFound as exc:
        raise Http404 from exc
    concert = show.concert
    if booking_session(request, concert.pk) is None:
        return not_admitted(request, concert.pk, show.pk)
    back = redirect("pages:seat-map", show_id=show.pk)
    form = BestAvailableForm(request.POST, grades=SeatGrade.values, limit=concert.seats_per_user)
    if not form.is_valid():
        messages.error(request, _("Choose a grade and how many seats you want together."))
        return back
    grade, count = form.cleaned_data["grade"], form.cleaned_data["count"]
    seat_ids = best_available_seats(show=show, grade=grade, count=count, now=clock.now())
    if not seat_ids:
        messages.error(
            request,
            _("There are no %(count)s seats together left in %(grade)s. Try fewer seats or another grade.")
            % {"count": count, "grade": grade},
        )
        return back
    try:
        reservation = reservation_hold(user=request.user, show_id=show.pk, seat_ids=seat_ids)
    except SeatUnavailable:
        messages.error(request, _("Someone took those seats a moment before you. Please try again."))
    except SeatLimitExceeded as exc:
        messages.error(
            request,
            _("One fan may have at most %(limit)s seats for this show (you already have %(already)s).")
            % {"limit": exc.extra.get("limit"), "already": exc.extra.get("already", 0)},
        )
    except ShowNotBookable:
        messages.error(request, _("This show cannot be booked any more."))
    except ValidationFailed:
        messages.error(request, _("Choose a grade and how many seats you want together."))
    else:
        return redirect("pages:payment", reservation_id=reservation.pk)
    return back


@fan_required
@require_http_methods(["GET", "POST"])
@outage_page
def seat_map(request: HttpRequest, show_id: int) -> HttpResponse:
    # The show (with its concert and venue) from the catalog memo, as the booking API reads it: every
    # admitted website fan loads this page, and the hold service checks the show again under its locks.
    try:
        show = show_get_cached(show_id=show_id)
    except ShowNotFound as exc:
        raise Http404 from exc
    concert = show.concert
    session = booking_session(request, concert.pk)
    if session is None:
        return not_admitted(request, concert.pk, show.pk)

    now = clock.now()
    seat_map = show_seat_map(show=show, now=now)
    grid = seat_grid(show=show, seat_map=seat_map, seat_limit=concert.seats_per_user, now=now)
    form = HoldForm(request.POST if request.method == "POST" else None, seat_ids=grid.seat_ids)
    status, error, taken = 200, None, set()
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                reservation = reservation_hold(
                    user=request.user, show_id=show.pk, seat_ids=form.cleaned_data["seat_ids"]
                )
            except SeatUnavailable as exc:
                taken = {seat["id"] for seat in exc.extra.get("seats", [])}
                labels = ", ".join(seat["label"] for seat in exc.extra.get("seats", []))
                error = _("Sorry, these seats were just taken by someone else: %(seats)s. Choose others.") % {
                    "seats": labels
                }
                status = 409
            except SeatLimitExceeded as exc:
                error = _("One fan may have at most %(limit)s seats for this show (you already have %(already)s).") % {
                    "limit": exc.extra.get("limit"),
                    "already": exc.extra.get("already", 0),
                }
                status = 409
            except ShowNotBookable:
                error, status = _("This show cannot be booked any more."), 409
            except ValidationFailed as exc:
                form_errors_from(form, exc, _)
            else:
                return redirect("pages:payment", reservation_id=reservation.pk)
            refused_at = clock.now()  # the map again, with what the refusal changed
            seat_map = show_seat_map(show=show, now=refused_at)
            grid = seat_grid(show=show, seat_map=seat_map, seat_limit=concert.seats_per_user, now=refused_at)
        if error is None:
            error = " ".join(str(e) for errors in form.errors.values() for e in errors) or None
    # The legend's seats left per grade: counted from the kept seat map, as the booking API does.
    availability = shows_availability(shows=[show], seat_maps=[seat_map], now=now)[0]
    chosen = form.cleaned_data["seat_ids"] if form.is_bound and form.is_valid() else []
    context = {
        "show": show,
        "concert": concert,
        "availability": availability,
        # The seats drawn for every fan alike; this fan's choice ticked again after a refused hold
        # (but the seats it was refused for).
        "seat_grid": seat_grid_html(grid, chosen=[seat for seat in chosen if seat not in taken]),
        "poll_seconds": settings.SEAT_MAP_POLL_SECONDS,
        "form": form,
        "error": error,
        "session": session,
        "seat_limit": concert.seats_per_user,
    }
    return render(request, "pages/seat_map.html", context, status=status)

"""Door check-in pages for staff: pick a show, then scan (or type) each ticket's code.

The rule (which ticket comes in, once) lives in reservations.tickets; these views only ask and
show its answer, large and coloured, so a door can work at a glance.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from accounts.selectors import organization_scope
from concerts.models import Show
from core.clock import clock
from reservations.tickets import CHECK_IN_PERMISSION, show_door_counts, ticket_check_in

door_staff_required = permission_required(CHECK_IN_PERMISSION, login_url=reverse_lazy("admin:login"))


def _door_shows(request: HttpRequest):
    """The shows of the organizations the door staff member works for."""
    return organization_scope(Show.objects.all(), user=request.user, path="concert__organization")


# Doors open hours before a show; a show stays listed until the next day.
DOOR_SHOWS_SINCE = timedelta(hours=12)


@door_staff_required
def door_show_list(request: HttpRequest) -> HttpResponse:
    shows = (
        _door_shows(request)
        .filter(starts_at__gte=clock.now() - DOOR_SHOWS_SINCE)
        .select_related("concert", "venue")
        .order_by("starts_at")[:60]
    )
    return render(request, "pages/door_shows.html", {"shows": shows})


@door_staff_required
@require_http_methods(["GET", "POST"])
def door_check_in(request: HttpRequest, show_id: int) -> HttpResponse:
    show = get_object_or_404(_door_shows(request).select_related("concert", "venue"), pk=show_id)
    check_in = None
    if request.method == "POST":
        code = request.POST.get("code", "")[:64]
        check_in = ticket_check_in(code=code, show=show, actor=request.user)
    context = {"show": show, "check_in": check_in, "counts": show_door_counts(show=show)}
    response = render(request, "pages/door_check_in.html", context)
    # The one page that may use the camera (to read QR codes); every other keeps it switched off.
    response.headers["Permissions-Policy"] = settings.PERMISSIONS_POLICY.replace("camera=()", "camera=(self)")
    return response

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import OrganizationScopedAdmin
from accounts.selectors import organization_scope
from concerts.admin import ShowAdmin
from concerts.layout_drawing import layout_drawing
from concerts.models import Show
from concerts.selectors import show_seat_list, show_sold_ticket_count
from core.admin import ReadOnlyAdminMixin, SecureModelAdmin, won_column
from core.clock import clock
from core.exceptions import ApplicationError, ServiceUnavailable
from queueing.selectors import queue_stats
from reservations.models import PaymentAttempt, Reservation, ReservationSeat, TicketRefund
from reservations.selectors import SalesBucket, show_sales_over_time, show_sales_summary
from reservations.services import REFUND_ON_BEHALF_PERMISSION, SHOW_CANCEL_PERMISSION, reservation_refund, show_cancel

# The drawing of the dashboard's sales chart (SVG user units; the page scales it). The seat map's
# geometry is the venue preview's (concerts.layout_drawing).
CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_BAR_MAX_WIDTH = 40  # a few buckets do not make slabs
SEAT_MAP_SCALE = 2  # screen pixels per unit: a small hall is not blown up to the page's width


@dataclass(frozen=True)
class ChartBar:
    x: float
    y: float
    width: float
    height: float
    title: str


def seat_map_drawing(*, show: Show, now: datetime) -> dict:
    """Where each seat on sale goes on the dashboard's map: sections, a row per line, aisles as gaps."""
    fields = ("section", "row", "row_index", "number", "grade", "aisle_after")
    seats, statuses = [], {}
    for position, values in enumerate(show_seat_list(show=show, now=now).values_list(*fields, "effective_status")):
        seats.append(SimpleNamespace(**dict(zip(fields, values[:-1], strict=True))))
        statuses[position] = values[-1]
    drawing = layout_drawing(seats, statuses=statuses)
    return {
        "seats": drawing.seats,
        "rows": drawing.rows,
        "sections": drawing.sections,
        "width": drawing.width,
        "height": drawing.height,
        "seat_size": drawing.seat_size,
        "scale": SEAT_MAP_SCALE,
    }


def sales_chart_drawing(buckets: list[SalesBucket], kind: str) -> dict:
    """The bars of tickets sold per bucket, scaled to the chart's box."""
    most = max((bucket.tickets for bucket in buckets), default=0)
    width = min(CHART_WIDTH / max(len(buckets), 1), CHART_BAR_MAX_WIDTH)
    date_format = "Y-m-d" if kind == "day" else "m-d H:i"
    bars = []
    for i, bucket in enumerate(buckets):
        height = CHART_HEIGHT * bucket.tickets / most if most else 0
        when = formats.date_format(timezone.localtime(bucket.starts_at), date_format)
        bars.append(
            ChartBar(
                x=i * width + width * 0.1,
                y=CHART_HEIGHT - height,
                width=width * 0.8,
                height=height,
                title=f"{when}: {bucket.tickets}",
            )
        )
    first = formats.date_format(timezone.localtime(buckets[0].starts_at), date_format) if buckets else ""
    last = formats.date_format(timezone.localtime(buckets[-1].starts_at), date_format) if buckets else ""
    return {
        "bars": bars,
        "most": most,
        "first": first,
        "last": last,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
    }


class ReservationSeatInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReservationSeat
    fields = ["show_seat", "price", "active", "refund"]
    readonly_fields = fields
    extra = 0


class PaymentAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentAttempt
    fields = ["created_at", "outcome", "amount", "balance_after", "attempts_left", "idempotency_key"]
    readonly_fields = fields
    extra = 0


@admin.register(Reservation)
class ReservationAdmin(OrganizationScopedAdmin, ReadOnlyAdminMixin, SecureModelAdmin):
    """The reservations of the user's organizations' shows: the fan's name and phone show here (the
    door and refunds need them), not the fan's account, wallet or ledger."""

    organization_path = "show__concert__organization"
    list_display = ["id", "user", "show", "status", "amount_won", "hold_expires_at", "created_at", "confirmed_at"]
    amount_won = won_column("amount", _("amount"))
    list_filter = [
        "status",
        ("show__concert", admin.RelatedOnlyFieldListFilter),
        ("show", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["user__phone", "user__name", "show__concert__title", "=id"]
    list_select_related = ["user", "show__concert"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "user",
        "show",
        "status",
        "amount",
        "seats_held_with",
        "hold_expires_at",
        "failed_payment_attempts",
        "created_at",
        "confirmed_at",
        "closed_at",
    ]
    inlines = [ReservationSeatInline, PaymentAttemptInline]
    actions = ["refund_tickets"]

    @admin.action(
        description=_("Refund the tickets on the fan's behalf (full price back to the wallet)"), permissions=["refund"]
    )
    def refund_tickets(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        for reservation in queryset.order_by("pk"):
            try:
                result = reservation_refund(actor=request.user, reservation_id=reservation.pk, on_behalf=True)
            except ApplicationError as error:
                self.message_user(request, f"#{reservation.pk}: {error.message}", messages.WARNING)
            else:
                self.message_user(request, f"#{reservation.pk}: refunded {result.refund.amount:,}", messages.SUCCESS)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REFUND_ON_BEHALF_PERMISSION)

    def get_urls(self):
        # Here, not on the show admin: concerts may not import reservations or queueing (the
        # apps' layers); the show admin links to it by this URL name.
        dashboard = path(
            "show/<int:show_id>/dashboard/",
            self.admin_site.admin_view(self.show_dashboard_view),
            name="reservations_show_dashboard",
        )
        return [dashboard, *super().get_urls()]

    def show_dashboard_view(self, request: HttpRequest, show_id: int) -> HttpResponse:
        """A show's sales dashboard: the seat map by state and grade, sales and revenue per grade,
        tickets sold over time, the concert's waiting room. `?fragment=1` answers the numbers
        alone: static/js/sales_dashboard.js reloads them every SALES_DASHBOARD_REFRESH_SECONDS."""
        if not request.user.has_perm("concerts.view_show"):
            raise PermissionDenied
        shows = organization_scope(Show.objects.all(), user=request.user, path="concert__organization")
        show = shows.select_related("concert", "venue").filter(pk=show_id).first()
        if show is None:  # or another organization's
            raise Http404
        now = clock.now()
        kind, buckets = show_sales_over_time(show=show, max_buckets=settings.SALES_CHART_MAX_BARS)
        try:
            queue = queue_stats(concert_id=show.concert_id)
        except ServiceUnavailable:
            queue = None  # Redis is down: the sales numbers (PostgreSQL) are still worth showing
        window = settings.QUEUE_RATE_WINDOW_SECONDS
        context = {
            **self.admin_site.each_context(request),
            "title": _("Sales dashboard: %(show)s") % {"show": show},
            "opts": Show._meta,
            "show": show,
            "now": now,
            "sales": show_sales_summary(show=show, now=now),
            "seat_map": seat_map_drawing(show=show, now=now),
            "chart": sales_chart_drawing(buckets, kind),
            "bucket_kind": kind,
            "queue": queue,
            "admissions_per_minute": round(queue.admitted_recently * 60 / window, 1) if queue else None,
            "abandoned_per_minute": round(queue.abandoned_recently * 60 / window, 1) if queue else None,
            "refresh_seconds": settings.SALES_DASHBOARD_REFRESH_SECONDS,
            "fragment_url": reverse("admin:reservations_show_dashboard", args=[show.pk]) + "?fragment=1",
        }
        if request.GET.get("fragment"):
            return TemplateResponse(request, "admin/reservations/show_dashboard_numbers.html", context)
        return TemplateResponse(request, "admin/reservations/show_dashboard.html", context)


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(OrganizationScopedAdmin, ReadOnlyAdminMixin, SecureModelAdmin):
    organization_path = "reservation__show__concert__organization"
    list_display = ["id", "reservation", "outcome", "amount_won", "attempts_left", "created_at"]
    amount_won = won_column("amount", _("amount"))
    list_filter = ["outcome"]
    search_fields = ["reservation__user__phone", "=reservation__id"]
    list_select_related = ["reservation"]


@admin.register(TicketRefund)
class TicketRefundAdmin(OrganizationScopedAdmin, ReadOnlyAdminMixin, SecureModelAdmin):
    organization_path = "reservation__show__concert__organization"
    list_display = ["id", "reservation", "amount_won", "actor", "created_at"]
    amount_won = won_column("amount", _("amount"))
    search_fields = ["reservation__user__phone", "=reservation__id"]
    list_select_related = ["reservation", "actor"]


# The concerts' Show admin with the action that cancels shows, which refunds tickets (a
# reservations service concerts may not import): registered in its place.
class ShowWithCancelAdmin(ShowAdmin):
    actions = [*ShowAdmin.actions, "cancel_shows"]

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SHOW_CANCEL_PERMISSION)

    @admin.action(
        description=_("Cancel the selected shows (refund every ticket, tell the fans)"), permissions=["cancel"]
    )
    def cancel_shows(self, request: HttpRequest, queryset):
        """Asks first (a page listing what will happen), then cancels each show through
        reservations.services.show_cancel and reports what it did, naming the fans to call."""
        shows = list(queryset.select_related("concert", "venue").order_by("starts_at", "pk"))
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Cancel shows"),
                "opts": self.model._meta,
                "shows": [(show, show_sold_ticket_count(show=show)) for show in shows],
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/concerts/show/cancel_confirmation.html", context)
        for show in shows:
            result = show_cancel(show=show, actor=request.user)
            self.message_user(
                request,
                _(
                    "%(show)s is cancelled: %(tickets)s tickets refunded (%(amount)s won), %(holds)s holds "
                    "released; fans with an e-mail are being told."
                )
                % {
                    "show": show,
                    "tickets": result.refunded_tickets,
                    "amount": f"{result.refunded_amount:,}",
                    "holds": result.released_holds,
                },
                messages.SUCCESS,
            )
            if result.room_closed:
                self.message_user(
                    request,
                    _("%(concert)s has no other show on sale: its waiting room was emptied.")
                    % {"concert": show.concert},
                    messages.INFO,
                )
            if result.fans_without_email:
                fans = ", ".join(f"{fan.name} {fan.phone}" for fan in result.fans_without_email)
                self.message_user(
                    request,
                    _("These refunded fans of %(show)s have no e-mail; call them: %(fans)s")
                    % {"show": show, "fans": fans},
                    messages.WARNING,
                )
        return None


admin.site.unregister(Show)
admin.site.register(Show, ShowWithCancelAdmin)

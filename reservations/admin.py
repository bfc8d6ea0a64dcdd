from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, SecureModelAdmin, won_column
from core.exceptions import ApplicationError
from reservations.models import PaymentAttempt, Reservation, ReservationSeat, TicketRefund
from reservations.services import REFUND_ON_BEHALF_PERMISSION, reservation_refund


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
class ReservationAdmin(ReadOnlyAdminMixin, SecureModelAdmin):
    list_display = ["id", "user", "show", "status", "amount_won", "hold_expires_at", "created_at", "confirmed_at"]
    amount_won = won_column("amount", _("amount"))
    list_filter = ["status", "show__concert", "show"]
    search_fields = ["user__phone", "user__name", "show__concert__title", "=id"]
    list_select_related = ["user", "show__concert"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "user",
        "show",
        "status",
        "amount",
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


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdminMixin, SecureModelAdmin):
    list_display = ["id", "reservation", "outcome", "amount_won", "attempts_left", "created_at"]
    amount_won = won_column("amount", _("amount"))
    list_filter = ["outcome"]
    search_fields = ["reservation__user__phone", "=reservation__id"]
    list_select_related = ["reservation"]


@admin.register(TicketRefund)
class TicketRefundAdmin(ReadOnlyAdminMixin, SecureModelAdmin):
    list_display = ["id", "reservation", "amount_won", "actor", "created_at"]
    amount_won = won_column("amount", _("amount"))
    search_fields = ["reservation__user__phone", "=reservation__id"]
    list_select_related = ["reservation", "actor"]

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, SecureModelAdmin, won_column
from core.exceptions import ApplicationError
from points.models import LedgerEntry, Wallet
from points.services import AMOUNT_LIMIT, wallet_adjust


class AdjustBalanceForm(forms.Form):
    amount = forms.IntegerField(
        label=_("amount (won, signed)"),
        min_value=-AMOUNT_LIMIT,
        max_value=AMOUNT_LIMIT,
        help_text=_("Positive adds points, negative takes them away. Written as an ADJUSTMENT ledger entry."),
    )
    reason = forms.CharField(label=_("reason"), max_length=255)

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("Enter a non-zero amount."))
        return amount


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdminMixin, SecureModelAdmin):
    list_display = ["id", "user", "balance_won", "updated_at"]
    balance_won = won_column("balance", _("balance"))
    search_fields = ["user__phone", "user__name", "=id"]
    list_select_related = ["user"]
    fields = ["user", "balance", "updated_at", "ledger_link", "adjust_link"]
    actions = ["adjust_balance"]

    def get_readonly_fields(self, request: HttpRequest, obj: Wallet | None = None) -> list[str]:
        return self.get_fields(request, obj)

    def get_fields(self, request: HttpRequest, obj: Wallet | None = None) -> list[str]:
        if self.has_adjust_permission(request):
            return self.fields
        return [name for name in self.fields if name != "adjust_link"]

    def get_urls(self):
        adjust = path(
            "<int:wallet_id>/adjust/", self.admin_site.admin_view(self.adjust_view), name="points_wallet_adjust"
        )
        return [adjust, *super().get_urls()]

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    @admin.display(description=_("ledger"))
    def ledger_link(self, wallet: Wallet) -> str:
        # A link, not an inline: a wallet may have thousands of entries.
        url = reverse("admin:points_ledgerentry_changelist") + f"?wallet__id__exact={wallet.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Ledger entries of this wallet"))

    @admin.display(description=_("adjust balance"))
    def adjust_link(self, wallet: Wallet) -> str:
        url = reverse("admin:points_wallet_adjust", args=[wallet.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Adjust balance (superusers)"))

    @admin.action(description=_("Adjust the balance of the selected wallet"), permissions=["adjust"])
    def adjust_balance(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one wallet to adjust."), messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:points_wallet_adjust", args=[queryset.get().pk]))

    def adjust_view(self, request: HttpRequest, wallet_id: int) -> HttpResponse:
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("user"), pk=wallet_id)
        form = AdjustBalanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = wallet_adjust(
                    user=wallet.user,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                self.log_change(
                    request, wallet, f"Adjusted by {entry.amount:+,} ({entry.note}); ledger entry {entry.pk}"
                )
                self.message_user(
                    request,
                    _("Adjusted by %(amount)s; balance now %(balance)s.")
                    % {"amount": f"{entry.amount:+,}", "balance": f"{entry.balance_after:,}"},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:points_wallet_change", args=[wallet.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust balance"),
            "opts": self.opts,
            "wallet": wallet,
            "form": form,
        }
        return TemplateResponse(request, "admin/points/wallet/adjust.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, SecureModelAdmin):
    list_display = ["id", "created_at", "wallet", "user_phone", "kind", "amount_won", "balance_after_won", "reference"]
    amount_won = won_column("amount", _("amount"))
    balance_after_won = won_column("balance_after", _("balance after"))
    list_filter = ["kind"]
    search_fields = ["wallet__user__phone", "reference", "idempotency_key", "=wallet__id"]
    list_select_related = ["wallet__user"]
    readonly_fields = [
        "wallet",
        "kind",
        "amount",
        "balance_after",
        "reference",
        "idempotency_key",
        "note",
        "created_by",
        "created_at",
    ]
    ordering = ["-id"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the ledger grows large; skip the second COUNT(*)

    @admin.display(description=_("phone"), ordering="wallet__user__phone")
    def user_phone(self, entry: LedgerEntry) -> str:
        return entry.wallet.user.phone

"""Users in the back-office: listed and searched by phone and name. Password and PIN hashes are
never shown or editable here; only a superuser may change anything (the staff flag, groups,
active), everyone else with the view permission sees the account read-only.

Accounts are created by signing up (or `createsuperuser`), not here: signup validates the phone,
hashes the password and PIN and opens the wallet (accounts.services.user_create).
"""

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.exceptions import BadCredentials, LoginSlowedDown
from accounts.models import User
from accounts.services import user_authenticate, user_password_set_temporary
from core.admin import SecureModelAdmin
from core.exceptions import RateLimited
from core.throttling import client_ip


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's log-in through accounts.services.user_authenticate: the same per-address and
    per-account limits and the same slowdown as the API and the fan pages."""

    def clean(self) -> dict:
        phone, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if phone is not None and password:
            try:
                self.user_cache = user_authenticate(
                    phone=phone, password=password, client_ip=client_ip(self.request), request=self.request
                )
            except BadCredentials:
                raise self.get_invalid_login_error() from None
            except RateLimited as exc:
                wait = exc.extra.get("retry_after_seconds") or 1
                text = (
                    _("Too many failed log-ins for this account. Try again in %(seconds)s seconds.")
                    if isinstance(exc, LoginSlowedDown)
                    else _("Too many attempts. Try again in %(seconds)s seconds.")
                )
                raise ValidationError(text, code="rate_limited", params={"seconds": wait}) from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


admin.site.login_form = StaffLoginForm


@admin.register(User)
class UserAdmin(SecureModelAdmin):
    list_display = ["phone", "name", "is_active", "is_staff", "is_superuser", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["phone", "name", "email"]
    ordering = ["-date_joined"]
    fieldsets = [
        (None, {"fields": ["phone", "name", "email", "language"]}),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Dates"), {"fields": ["date_joined", "last_login"]}),
    ]
    filter_horizontal = ["groups"]
    actions = ["set_temporary_password"]
    _always_readonly = ["phone", "is_superuser", "date_joined", "last_login"]

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        if request.user.is_superuser:
            return self._always_readonly
        return [
            "phone",
            "name",
            "email",
            "language",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "date_joined",
            "last_login",
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Users own wallets and ledgers (PROTECT); deactivate instead.
        return False

    @admin.action(
        description=_("Set a temporary password (the fan forgot theirs; tell it to them after checking who calls)"),
        permissions=["change"],
    )
    def set_temporary_password(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Support's password reset (README, *Forgotten password or PIN*): one user at a time; the
        password is shown once, here, and logged as a change of the user (not its value)."""
        if queryset.count() != 1:
            self.message_user(request, gettext("Choose exactly one user."), messages.ERROR)
            return
        user = queryset.get()
        password = user_password_set_temporary(user=user, actor=request.user)
        self.log_change(request, user, [{"changed": {"fields": ["temporary password"]}}])
        self.message_user(
            request,
            gettext(
                "Temporary password of %(user)s: %(password)s. Tell it to the fan only; it is not shown again. "
                "The fan logs in with it and sets a new password on the account page."
            )
            % {"user": user, "password": password},
            messages.WARNING,
        )

"""Users in the back-office: listed and searched by phone and name. Password and PIN hashes are
never shown or editable here; only a superuser may change anything (the staff flag, groups,
active), everyone else with the view permission sees the account read-only.

Accounts are created by signing up (or `createsuperuser`), not here: signup validates the phone,
hashes the password and PIN and opens the wallet (accounts.services.user_create). The list of
users is for superusers: an organizer sees a fan only on the reservations of their own shows.

Organizations (the organizers, each with its staff members) are set up by superusers; a member
sees their own organizations read-only.
"""

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import OrganizationScopedAdmin
from accounts.exceptions import BadCredentials, LoginSlowedDown
from accounts.models import Organization, User
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


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin, SecureModelAdmin):
    organization_path = "pk"
    list_display = ["name", "member_count", "venue_count", "concert_count"]
    search_fields = ["name"]
    fields = ["name", "members"]
    filter_horizontal = ["members"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("members", distinct=True),
                venue_total=Count("venues", distinct=True),
                concert_total=Count("concerts", distinct=True),
            )
        )

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, organization: Organization) -> int:
        return organization.member_total

    @admin.display(description=_("venues"), ordering="venue_total")
    def venue_count(self, organization: Organization) -> int:
        return organization.venue_total

    @admin.display(description=_("concerts"), ordering="concert_total")
    def concert_count(self, organization: Organization) -> int:
        return organization.concert_total

    # Who works for which organization decides what they see: superusers set it.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return request.user.is_superuser

"""Users in the back-office: listed and searched by phone and name. Password and PIN hashes are
never shown or editable here; only a superuser may change anything (the staff flag, groups,
active), everyone else with the view permission sees the account read-only.

Accounts are created by signing up (or `createsuperuser`), not here: signup validates the phone,
hashes the password and PIN and opens the wallet (accounts.services.user_create).
"""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.admin import SecureModelAdmin


@admin.register(User)
class UserAdmin(SecureModelAdmin):
    list_display = ["phone", "name", "is_active", "is_staff", "is_superuser", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["phone", "name"]
    ordering = ["-date_joined"]
    fieldsets = [
        (None, {"fields": ["phone", "name"]}),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Dates"), {"fields": ["date_joined", "last_login"]}),
    ]
    filter_horizontal = ["groups"]
    _always_readonly = ["phone", "is_superuser", "date_joined", "last_login"]

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        if request.user.is_superuser:
            return self._always_readonly
        return ["phone", "name", "is_active", "is_staff", "is_superuser", "groups", "date_joined", "last_login"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Users own wallets and ledgers (PROTECT); deactivate instead.
        return False

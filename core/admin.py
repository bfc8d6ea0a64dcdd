"""What every admin page of the project shares.

- `SecureModelAdmin` (SecretSafeAdminMixin): a change list accepts lookups in its query string only on
  the page's declared filters, date hierarchy and search fields, and secrets (SECRET_FIELDS) are
  never filtered, searched, ordered or shown. Django's own rule lets any lookup on a local field
  (or through a one-step relation) through, so `?auth_token__key__regex=^62\\.p[A-Z]` on the user
  list told an organizer whether a fan's API key started so: 236 requests recovered a key.
- The third-party admins (groups, API tokens, the beat schedule) are registered again with the
  same mixin at the end of this module.
- `ReadOnlyAdminMixin` for records that change only through the services.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.filters import SimpleListFilter
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.money import won_format

# Fields no admin page filters, searches, orders or shows, by the label of their concrete model:
# password and PIN hashes (offline guessing), API keys (they are the login). A relation whose
# target is one of them (User.auth_token compares the key) counts as the secret itself.
SECRET_FIELDS: dict[str, frozenset[str]] = {
    "accounts.User": frozenset({"password", "pin_hash"}),
    "authtoken.Token": frozenset({"key"}),
}


def _is_secret(field: Any) -> bool:
    concrete = getattr(field, "concrete", False) and not field.is_relation
    if concrete:
        return field.name in SECRET_FIELDS.get(field.model._meta.concrete_model._meta.label, ())
    target = getattr(field, "target_field", None) if field.is_relation else None
    return target is not None and _is_secret(target)


def lookup_field_path(model: type[Model], lookup: str) -> tuple[list[Any], list[str]]:
    """`show__concert__id__exact` -> ([Show.concert... fields], ["exact"]): the fields a lookup
    walks through (`pk` resolved), and what follows them (lookups and transforms)."""
    parts = lookup.split(LOOKUP_SEP)
    fields: list[Any] = []
    opts = model._meta
    for part in parts:
        if opts is None:
            break
        try:
            field = opts.get_field(opts.pk.name if part == "pk" else part)
        except FieldDoesNotExist:
            break
        fields.append(field)
        opts = field.related_model._meta if field.is_relation and field.related_model is not None else None
    return fields, parts[len(fields) :]


def is_secret_lookup(model: type[Model], lookup: str) -> bool:
    fields, _ = lookup_field_path(model, lookup)
    return any(_is_secret(field) for field in fields)


def declared_lookup_paths(model_admin: admin.ModelAdmin, request: HttpRequest | None) -> set[tuple[str, ...]]:
    """The field paths the page declares: its list filters, date hierarchy and search fields."""
    declared: list[str] = [model_admin.date_hierarchy] if model_admin.date_hierarchy else []
    for item in model_admin.get_list_filter(request):
        if isinstance(item, type) and issubclass(item, SimpleListFilter):
            continue  # matched by its parameter name, not a field path
        declared.append(item[0] if isinstance(item, list | tuple) else item)
    declared += [name.lstrip("^=@") for name in model_admin.get_search_fields(request)]
    paths = set()
    for lookup in declared:
        fields, _ = lookup_field_path(model_admin.model, lookup)
        paths.add(tuple(field.name for field in fields))
    return paths


class SecretSafeAdminMixin:
    """Lookups only on declared filters and search fields; secrets never filtered or shown."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        model = self.model
        if is_secret_lookup(model, lookup):
            return False
        # A custom list filter's own parameter (it filters in its queryset()).
        for item in self.get_list_filter(request):
            if isinstance(item, type) and issubclass(item, SimpleListFilter) and lookup == item.parameter_name:
                return True
        # Raw-id popups filter the related list by limit_choices_to (Django allows them too).
        for fk_lookup in model._meta.related_fkey_lookups:
            fk_lookup = fk_lookup() if callable(fk_lookup) else fk_lookup
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        fields, _ = lookup_field_path(model, lookup)
        if not fields:
            return False
        names = tuple(field.name for field in fields)
        declared = declared_lookup_paths(self, request)
        if names in declared:
            return True
        # A relation's filter sends its target's key: `show__concert__id__exact` for "show__concert".
        *relation, last = fields
        return bool(relation) and names[:-1] in declared and getattr(relation[-1], "target_field", None) == last

    def to_field_allowed(self, request: HttpRequest, to_field: str) -> bool:
        return not is_secret_lookup(self.model, to_field) and super().to_field_allowed(request, to_field)

    # A model keyed by a secret (API tokens: the key is the primary key) keeps only its list:
    # object pages, popups, actions and "added" messages all print the primary key.
    def _pk_is_secret(self) -> bool:
        return _is_secret(self.model._meta.pk)

    def get_urls(self) -> list:
        urls = super().get_urls()
        if not self._pk_is_secret():
            return urls
        return [url for url in urls if getattr(url, "name", None) and url.name.endswith("_changelist")]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        if self._pk_is_secret() and IS_POPUP_VAR in request.GET:
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def get_list_display_links(self, request: HttpRequest, list_display: Sequence[Any]) -> Sequence[Any] | None:
        return None if self._pk_is_secret() else super().get_list_display_links(request, list_display)

    def get_actions(self, request: HttpRequest) -> dict:
        return {} if self._pk_is_secret() else super().get_actions(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return not self._pk_is_secret() and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return not self._pk_is_secret() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return not self._pk_is_secret() and super().has_delete_permission(request, obj)

    def _without_secrets(self, names: Iterable[Any]) -> list[Any]:
        return [
            name for name in names if not (isinstance(name, str) and is_secret_lookup(self.model, name.lstrip("^=@-")))
        ]

    def get_list_display(self, request: HttpRequest) -> Sequence[Any]:
        return self._without_secrets(super().get_list_display(request))

    def get_list_filter(self, request: HttpRequest) -> Sequence[Any]:
        return [
            item
            for item in super().get_list_filter(request)
            if not (isinstance(item, str | list | tuple) and self._is_secret_name(item))
        ]

    def _is_secret_name(self, item: str | list | tuple) -> bool:
        name = item[0] if isinstance(item, list | tuple) else item
        return isinstance(name, str) and is_secret_lookup(self.model, name)

    def get_search_fields(self, request: HttpRequest) -> Sequence[str]:
        return self._without_secrets(super().get_search_fields(request))

    def get_sortable_by(self, request: HttpRequest) -> Sequence[str]:
        return self._without_secrets(super().get_sortable_by(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Sequence[str]:
        return self._without_secrets(super().get_readonly_fields(request, obj))

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> Sequence[str]:
        secrets = SECRET_FIELDS.get(self.model._meta.concrete_model._meta.label, frozenset())
        return [*(super().get_exclude(request, obj) or ()), *sorted(secrets)]

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Sequence[Any]:
        return self._without_secrets(super().get_fields(request, obj))

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list[tuple[Any, dict[str, Any]]]:
        fieldsets = []
        for title, options in super().get_fieldsets(request, obj):
            lines = []
            for line in options.get("fields", ()):
                kept = self._without_secrets(line if isinstance(line, list | tuple) else [line])
                if kept:
                    lines.append(tuple(kept) if isinstance(line, list | tuple) else kept[0])
            fieldsets.append((title, {**options, "fields": lines}))
        return fieldsets


class SecureModelAdmin(SecretSafeAdminMixin, admin.ModelAdmin):
    """The base of every ModelAdmin of the project."""


class ReadOnlyAdminMixin:
    """For records that change only through the services, never by hand (money, seats, sales).
    Viewing needs Django's view permission, e.g. through the Organizers group."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _harden_registered(models: Iterable[type[Model]]) -> None:
    """Registers the third-party admins of `models` again, with SecretSafeAdminMixin first."""
    for model in models:
        registered = type(admin.site._registry[model])
        if issubclass(registered, SecretSafeAdminMixin):
            continue
        admin.site.unregister(model)
        admin.site.register(model, type(registered.__name__, (SecretSafeAdminMixin, registered), {}))


def _third_party_models() -> list[type[Model]]:
    # Importing the admin modules registers them, whatever the order of INSTALLED_APPS.
    import django.contrib.auth.admin  # noqa: F401
    import django_celery_beat.admin  # noqa: F401
    import rest_framework.authtoken.admin  # noqa: F401
    from django.contrib.auth.models import Group
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from rest_framework.authtoken.models import TokenProxy

    return [Group, TokenProxy, PeriodicTask, ClockedSchedule, CrontabSchedule, SolarSchedule, IntervalSchedule]


_harden_registered(_third_party_models())


def won_column(field: str, description: str) -> Any:
    """A list column showing a won amount as it reads (100,000원 / ₩100,000), sortable by `field`."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: admin.ModelAdmin, obj: Model) -> str:  # a method of the admin that declares it
        return won_format(getattr(obj, field))

    column.__name__ = f"{field}_won"
    return column


# The back-office's own name on every admin page, in the admin's language.
admin.site.site_header = _("Stagegate back-office")
admin.site.site_title = _("Stagegate back-office")
admin.site.index_title = _("Tours, shows, sales and the waiting rooms")

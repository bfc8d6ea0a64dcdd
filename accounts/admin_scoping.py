"""The back-office's one scoping rule: a staff member sees and changes only the rows of the
organizations they work for (accounts.selectors.user_organization_ids; superusers see all).

A ModelAdmin of an organization's data mixes in OrganizationScopedAdmin and names the path from
its model to the organization; the mixin then
- narrows the change list, every object page, action, filter and search (all go through
  get_queryset: another organization's row is "not found");
- offers in a form's drop-downs only the user's own venues, concerts, shows and organizations
  (a related model whose admin declares an organization_path is narrowed by it);
- on an object with its own `organization` field: preselects and hides it for a user of one
  organization, offers only their own for a user of several (and lists it as a column for them),
  and keeps it fixed once saved (a superuser may still move a row, e.g. out of the migration's
  default organization).
Related-row list filters should be RelatedOnlyFieldListFilter: Django's plain one would list every
venue or concert of every organization.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from accounts.models import Organization
from accounts.selectors import organization_scope, user_organization_ids, user_organizations


class OrganizationScopedAdmin:
    organization_path: str = "organization"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return organization_scope(queryset, user=request.user, path=self.organization_path)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if user_organization_ids(user=request.user) == [] and request.method == "GET":
            # An empty list would read as "nothing there yet": say why instead.
            messages.warning(
                request,
                gettext("You work for no organization yet: a superuser adds you to yours (Organizations)."),
            )
        return super().changelist_view(request, extra_context)

    def _related_path(self, model: type[Model]) -> str | None:
        if model is Organization:
            return "pk"
        related_admin = self.admin_site._registry.get(model)
        return getattr(related_admin, "organization_path", None)

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any) -> ModelChoiceField:
        related = db_field.remote_field.model
        path = self._related_path(related)
        if path is not None:
            queryset = kwargs.get("queryset")
            if queryset is None:
                queryset = related._default_manager.all()
            kwargs["queryset"] = organization_scope(queryset, user=request.user, path=path)
        if related is Organization:
            own = list(kwargs["queryset"][:2])
            if len(own) == 1:
                # One organization: it is the only answer, so it is not asked (and a posted other
                # value is ignored: a disabled field keeps its initial).
                kwargs.update(initial=own[0].pk, widget=forms.HiddenInput, disabled=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))
        if self.organization_path == "organization" and user_organizations(user=request.user)[:2].count() > 1:
            columns.insert(1, "organization")
        return columns

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser and self.organization_path == "organization":
            fields.append("organization")
        return fields

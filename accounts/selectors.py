"""Reads of accounts: which organizations a staff member acts for, and the back-office's scope.

The rule, in one place: a superuser acts for every organization; a staff member for the ones they
are a member of; anyone else (a fan) for none. So that the Organizers group keeps working where
only one organization exists (a hall that sells its own concerts), a staff member who belongs to
none acts for that one; once a second organization exists, such a member acts for none until
added to one.
"""

from typing import TypeVar

from django.db.models import Model, QuerySet

from accounts.exceptions import NotOrganizationMember
from accounts.models import Organization, User

M = TypeVar("M", bound=Model)


def user_organization_ids(*, user: User) -> list[int] | None:
    """The ids of the organizations `user` acts for; None for a superuser (every one)."""
    if not user.is_active:
        return []
    if user.is_superuser:
        return None
    if not user.is_staff:
        return []
    ids = list(user.organizations.values_list("pk", flat=True))
    if ids:
        return ids
    only = list(Organization.objects.values_list("pk", flat=True)[:2])
    return only if len(only) == 1 else []


def user_organizations(*, user: User) -> QuerySet[Organization]:
    ids = user_organization_ids(user=user)
    return Organization.objects.all() if ids is None else Organization.objects.filter(pk__in=ids)


def user_acts_for(*, user: User, organization_id: int) -> bool:
    ids = user_organization_ids(user=user)
    return ids is None or organization_id in ids


def organization_scope(queryset: QuerySet[M], *, user: User, path: str) -> QuerySet[M]:
    """`queryset` narrowed to the rows of the organizations `user` acts for; `path` leads from its
    model to the organization, e.g. "show__concert__organization" for a reservation."""
    ids = user_organization_ids(user=user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{path}__in": ids})


def organization_require(*, user: User, organization_id: int) -> None:
    """NotOrganizationMember unless `user` acts for the organization (services call it where they
    act for a staff member)."""
    if not user_acts_for(user=user, organization_id=organization_id):
        raise NotOrganizationMember()

"""Issue #14, item 1: an organizer read a fan's API key one character at a time through the admin's
user list (`?phone=<fan>&auth_token__key__regex=^62\\.p[A-Z]` shows the fan or not). Every admin
page accepts lookups only on its declared filters and search fields, and secrets (password, PIN
hash, API keys) are never filterable, orderable or shown (core.admin)."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.models import Permission
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token, TokenProxy

from accounts.tests.factories import UserFactory
from core.admin import SECRET_FIELDS, SecretSafeAdminMixin
from reservations.tests.factories import make_show

pytestmark = [pytest.mark.django_db, pytest.mark.security]


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def user_viewer_client() -> Client:
    """A staff member who may view users (organizers no longer may: support staff, say)."""
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="accounts"))
    client = Client()
    client.force_login(viewer)
    return client


def refused(response) -> bool:
    """Django refuses a lookup with 400 (DisallowedModelAdminLookup) or a redirect to ?e=1."""
    return response.status_code == 400 or (response.status_code == 302 and "e=1" in response["Location"])


def changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize(
    "lookup",
    [
        "auth_token__key__regex",
        "auth_token__pk__startswith",
        "auth_token__gte",  # a relation compares its target: the key itself
        "auth_token__key__startswith",
        "pin_hash__regex",
        "pin_hash__startswith",
        "password__startswith",
        "password__regex",
    ],
)
def test_staff_cannot_probe_a_fans_secrets_through_the_user_list(user_viewer_client: Client, lookup: str):
    fan = UserFactory()
    key = Token.objects.create(user=fan).key
    probe = {
        "auth_token": key[:2],
        "pin_hash": fan.pin_hash[:4],
        "password": fan.password[:4],
    }[lookup.split("__")[0]]

    right = user_viewer_client.get("/admin/accounts/user/", {"phone": fan.phone, lookup: probe})
    wrong = user_viewer_client.get("/admin/accounts/user/", {"phone": fan.phone, lookup: "~nothing~"})

    assert refused(right) and refused(wrong)
    assert (right.status_code, right.content) == (wrong.status_code, wrong.content)  # nothing to tell apart


def _secret_lookups(model: type[Model], depth: int = 2, prefix: str = "") -> list[str]:
    """Every lookup that reaches a secret field from `model`, through up to `depth` relations."""
    found = [prefix + name for name in SECRET_FIELDS.get(model._meta.concrete_model._meta.label, ())]
    if depth:
        for field in model._meta.get_fields():
            if field.is_relation and field.related_model is not None and (field.many_to_one or field.one_to_one):
                found += _secret_lookups(field.related_model, depth - 1, f"{prefix}{field.name}__")
    return found


def _undeclared_field(model_admin: admin.ModelAdmin, request) -> str:
    """A field of the admin's model that none of its filters, search fields or date hierarchy names."""
    declared = {model_admin.date_hierarchy}
    for item in [*model_admin.get_list_filter(request), *model_admin.get_search_fields(request)]:
        if isinstance(item, type):
            item = item.parameter_name
        elif isinstance(item, list | tuple):
            item = item[0]
        declared.add(item.lstrip("^=@").split("__")[0])
    names = [f.name for f in model_admin.model._meta.concrete_fields if f.name not in declared]
    assert names, f"{model_admin}: every field is declared"
    return names[-1]


# Every registered admin, third-party ones included, by model label.
REGISTERED = sorted(model._meta.label for model in admin.site._registry)


@pytest.mark.parametrize("label", REGISTERED)
def test_every_admin_refuses_lookups_on_undeclared_and_secret_fields(superuser_client: Client, rf, label: str):
    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    url = changelist_url(model)
    assert isinstance(model_admin, SecretSafeAdminMixin), f"{type(model_admin)} is not hardened"

    undeclared = _undeclared_field(model_admin, request)
    for lookup in [f"{undeclared}__isnull", f"{undeclared}__regex", *_secret_lookups(model)]:
        response = superuser_client.get(url, {lookup: "1"})
        assert refused(response), f"{model._meta.label}: ?{lookup}= answered {response.status_code}"


@pytest.mark.parametrize("label", REGISTERED)
def test_every_admins_declared_filters_keep_working(superuser_client: Client, label: str):
    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    make_show()  # concerts, shows, seats: the filters have choices
    url = changelist_url(model)
    page = superuser_client.get(url)
    assert page.status_code == 200
    cl: ChangeList = page.context["cl"]

    links = [choice["query_string"] for spec in cl.filter_specs for choice in spec.choices(cl)]
    if model_admin.date_hierarchy:
        links.append(f"?{model_admin.date_hierarchy}__year=2026&{model_admin.date_hierarchy}__month=12")
    if model_admin.search_fields:
        links.append("?q=010")
    for link in links:
        response = superuser_client.get(url + link)
        assert response.status_code == 200, f"{model._meta.label}{link} answered {response.status_code}"


def test_secrets_are_never_listed_searched_or_shown(superuser_client: Client, rf):
    fan = UserFactory()
    key = Token.objects.create(user=fan).key
    request = rf.get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)

    tokens = superuser_client.get(changelist_url(TokenProxy))
    users = superuser_client.get("/admin/accounts/user/", {"q": fan.phone})

    assert tokens.status_code == 200 and fan.phone in tokens.content.decode()
    assert key not in tokens.content.decode()
    assert fan.pin_hash not in users.content.decode() and fan.password not in users.content.decode()
    for model, model_admin in admin.site._registry.items():
        secrets = set(SECRET_FIELDS.get(model._meta.concrete_model._meta.label, ()))
        shown = [
            *model_admin.get_list_display(request),
            *model_admin.get_search_fields(request),
            *model_admin.get_sortable_by(request),
            *model_admin.get_readonly_fields(request),
            *model_admin.get_fields(request),
        ]
        assert not secrets & set(shown), f"{model._meta.label} shows {secrets & set(shown)}"


def test_api_keys_appear_on_no_admin_page(superuser_client: Client):
    """The token's primary key is the key itself: object pages, popups and actions print it."""
    fan = UserFactory()
    key = Token.objects.create(user=fan).key
    tokens = changelist_url(TokenProxy)

    listed = superuser_client.get(tokens)
    assert listed.status_code == 200 and fan.phone in listed.content.decode()
    pages = [
        tokens + "?_popup=1",
        tokens + "?_to_field=key&_popup=1",
        tokens + "?_to_field=key",
        tokens + "add/",
        tokens + f"{fan.pk}/change/",
        tokens + f"{fan.pk}/delete/",
        tokens + f"{fan.pk}/history/",
        "/admin/",
        "/admin/accounts/user/?_to_field=password&_popup=1",
    ]
    for page in pages:
        response = superuser_client.get(page)
        assert key not in response.content.decode(), page
        assert response.status_code in (302, 400, 403, 404) or page == "/admin/", (page, response.status_code)

"""API keys (`Authorization: Token <key>`, DRF's Token, one per user): issued at log-in, ended
by log-out, a new log-in, a password change or deactivation, and expiring API_KEY_LIFETIME_SECONDS
after issue (`ApiKeyAuthentication` enforces that on every DRF endpoint).

The queue endpoints (poll, enter, the event stream) authenticate without SQL: DRF's
TokenAuthentication reads the token and its user from PostgreSQL on every request, and a fan
polling every few seconds would make that the busiest query of the service. There the key is only
parsed (`DeferredTokenAuthentication`) and resolved to a user id from a Redis cache (SHA-256 of the
key -> `<user id>:<expiry>`, for at most QUEUE_AUTH_CACHE_SECONDS), filled at log-in or from SQL on
a miss. Every call reads that entry (the poll in the same pipeline as its script), and ending a
key deletes it (accounts.receivers), so a revoked key stops working at once; the expiry in the
entry enforces the lifetime on cached keys too. Entering a room resolves the key before its
script runs: a call that ends in 401 never touches anyone's place or rate limits.
"""

import hashlib
import logging
import math
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from redis.exceptions import RedisError
from rest_framework.authentication import BaseAuthentication, TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.exceptions import ApiKeyInvalid
from core.clock import clock
from core.outage import storage_boundary
from core.redis import redis_client, redis_key, redis_text

logger = logging.getLogger(__name__)
KEYWORD = "Token"
# What the booking reads answer for an unknown, revoked or expired key (DRF's TokenAuthentication's words).
INVALID_KEY_MESSAGE = "Invalid token."


class ApiKeyCaller:
    """A caller that sent an API key not yet resolved to a user (see module docstring)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    pk = id = None

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return "API key caller"


class DeferredTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` parsed, not looked up: request.user is an ApiKeyCaller.

    Only for views that resolve the key themselves (queueing.selectors.queue_status_for_api_key,
    accounts.authentication.api_key_resolve). A TokenAuthentication for the OpenAPI schema.
    """

    def authenticate(self, request: Request) -> tuple[ApiKeyCaller, str] | None:
        api_key = request_api_key(request)
        return (ApiKeyCaller(api_key), api_key) if api_key is not None else None


def request_api_key(request: Request) -> str | None:
    """The key of the request's `Authorization: Token <key>` header, as DRF's TokenAuthentication
    reads it; None for another scheme or none. Raises AuthenticationFailed for a malformed one."""
    words = get_authorization_header(request).split()
    if not words or words[0].lower() != KEYWORD.lower().encode():
        return None
    if len(words) != 2:
        raise AuthenticationFailed("Invalid token header.")
    try:
        return words[1].decode()
    except UnicodeError:
        raise AuthenticationFailed("Invalid token header.") from None


def api_key_from_authorization(value: str) -> str | None:
    """The key of a well-formed `Authorization: Token <key>` header value, else None (the
    queue's lean paths, which leave anything else to DRF)."""
    words = value.split()
    if len(words) == 2 and words[0].lower() == KEYWORD.lower():
        return words[1]
    return None


_KEY_MAX_LENGTH = Token._meta.get_field("key").max_length  # 40


def api_key_new(*, user_id: int) -> str:
    """A new API key: `<user id>.<28 random>` (168 random bits; the user id helps an operator read
    logs and is never trusted: every use looks the key up). A user id too long for DRF's
    40-character key gets a plain random key."""
    key = f"{user_id}.{secrets.token_urlsafe(21)}"
    return key if len(key) <= _KEY_MAX_LENGTH else Token.generate_key()


def api_key_expires_at(created: datetime) -> datetime:
    """When a key issued at `created` stops working (API_KEY_LIFETIME_SECONDS)."""
    return created + timedelta(seconds=settings.API_KEY_LIFETIME_SECONDS)


class ApiKeyAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication, refusing a key past its lifetime (every endpoint but the queue's
    lean paths, which read the same rule from the cache: api_key_user_id_from_cache)."""

    def authenticate_credentials(self, key: str):
        user, token = super().authenticate_credentials(key)
        if api_key_expires_at(token.created) <= clock.now():
            raise AuthenticationFailed("The API token has expired. Log in again.")
        return user, token


class CachedApiKeyAuthentication(BaseAuthentication):
    """For the hot reads of the booking path (a concert's shows, a show's seat map: every admitted
    fan reads them, often): the key's user id from its Redis cache entry, as the queue paths read
    it (one GET; SQL only when the entry has lapsed), instead of a SQL query per request. The user
    is an instance with only its id loaded: these views need no more (the booking guard checks
    the queue token against the id), and any other field would load on first use. Log-out,
    expiry and deactivation act on the entry, so they hold here as everywhere."""

    def authenticate(self, request: Request):
        api_key = request_api_key(request)
        if api_key is None:
            return None
        user_id = api_key_resolve(api_key)
        if user_id is None:
            raise AuthenticationFailed(INVALID_KEY_MESSAGE)
        return self.caller(user_id), api_key

    @staticmethod
    def caller(user_id: int):
        """The authenticated user as these views need it: an instance with only its id loaded."""
        return get_user_model().from_db(None, ["id"], [user_id])

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class CachedApiKeyScheme(OpenApiAuthenticationExtension):
    """The API schema's name for it: the same `Authorization: Token <key>` header as tokenAuth."""

    target_class = CachedApiKeyAuthentication
    match_subclasses = True  # queueing.authentication's, which reads the queue token with the key
    name = "tokenAuthCached"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=KEYWORD)


def api_key_cache_key(api_key: str) -> str:
    return redis_key("auth", "apikey", hashlib.sha256(api_key.encode()).hexdigest())


@storage_boundary
def api_key_user_id(api_key: str) -> int | None:
    """The active user owning the API key if the key has not expired, from SQL (one query);
    cached in Redis when found."""
    found = (
        Token.objects.filter(key=api_key, user__is_active=True)
        .filter(created__gt=clock.now() - timedelta(seconds=settings.API_KEY_LIFETIME_SECONDS))
        .values_list("user_id", "created")
        .first()
    )
    if found is None:
        return None
    user_id, created = found
    api_key_remember(api_key, user_id, expires_at=api_key_expires_at(created))
    return user_id


def api_key_user_id_from_cache(api_key: str, cached: bytes | str | None) -> int | None:
    """The user id a read of the key's cache entry gave (api_key_cache_key), else from SQL; None
    when the key is unknown, revoked or past its lifetime (the entry holds `<user id>:<expiry>`)."""
    if cached is None:
        return api_key_user_id(api_key)
    user_id, _, expires = redis_text(cached).partition(":")
    if not expires or float(expires) <= clock.timestamp():
        return None
    return int(user_id)


def api_key_cache_value(user_id: int, expires_at: datetime) -> str:
    """A key's cache entry: `<user id>:<expiry, epoch seconds>` (api_key_user_id_from_cache reads it)."""
    return f"{user_id}:{expires_at.timestamp():.3f}"


def api_key_remember(api_key: str, user_id: int, *, expires_at: datetime) -> None:
    """Cache the API key's user until the key expires (log-in calls it, so even the first poll
    needs no SQL). Only a cache fill: with Redis unavailable it logs and returns (the poll then
    looks the key up)."""
    ttl = min(settings.QUEUE_AUTH_CACHE_SECONDS, math.ceil(expires_at.timestamp() - clock.timestamp()))
    if ttl <= 0:
        return
    try:
        redis_client().set(api_key_cache_key(api_key), api_key_cache_value(user_id, expires_at), ex=ttl)
    except RedisError:
        logger.warning("queue: API key cache not filled: Redis unavailable")


def api_key_forget(api_key: str) -> None:
    """Drop the cached entry (accounts.receivers calls it when an API token is deleted: log-out, a
    new log-in, a password change; and when its user is deactivated). Every check reads the entry
    (no process keeps its own copy), so the key stops working everywhere at once. With Redis
    unavailable it logs and returns: the entry then lapses after QUEUE_AUTH_CACHE_SECONDS."""
    try:
        redis_client().delete(api_key_cache_key(api_key))
    except RedisError:
        logger.warning("queue: API key cache entry not dropped: Redis unavailable")


def api_key_caller_id(api_key: str) -> int:
    """The user id of a caller sending this API key (api_key_resolve); raises ApiKeyInvalid."""
    user_id = api_key_resolve(api_key)
    if user_id is None:
        raise ApiKeyInvalid()
    return user_id


@storage_boundary
def api_key_resolve(api_key: str) -> int | None:
    """The API key's user id: from the Redis cache, else SQL (then cached)."""
    return api_key_user_id_from_cache(api_key, redis_client().get(api_key_cache_key(api_key)))

"""Authentication for the queue endpoints (poll and enter) without SQL.

DRF's TokenAuthentication reads the token and its user from PostgreSQL on every request; a fan
polling every few seconds would make that the busiest query of the service. Here the API key
(`Authorization: Token <key>`) is only parsed; the poll selector resolves it to a user id from a
Redis cache (SHA-256 of the key -> user id, `settings.QUEUE_AUTH_CACHE_SECONDS`), fetched in the
same pipeline as the poll script, and fills the cache from SQL on a miss. Deleting a token or
deactivating its user drops the entry (queueing.receivers); every other endpoint checks SQL.
Each process also keeps resolved keys in memory for QUEUE_AUTH_LOCAL_CACHE_SECONDS, so a
steady poller costs one EVALSHA and nothing else.

Keys issued at log-in are signed (`api_key_new`): `<user id>.<random>.<MAC>`, so entering the
room knows the caller's user id before any I/O and sends the cache read in the same round trip
as the enter script (queueing.services.queue_enter_for_api_key), still checking the key is live.
A key without a valid signature (one made in the admin, or before signing) is looked up first.
"""

import base64
import hashlib
import logging
import secrets
import time

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from redis.exceptions import RedisError
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from core.outage import storage_boundary
from core.redis import redis_client, redis_key
from queueing.exceptions import ApiKeyInvalid

logger = logging.getLogger(__name__)
KEYWORD = "Token"


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
    queueing.authentication.api_key_resolve). A TokenAuthentication for the OpenAPI schema.
    """

    def authenticate(self, request: Request) -> tuple[ApiKeyCaller, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid token header.")
        try:
            api_key = parts[1].decode()
        except UnicodeError as exc:
            raise AuthenticationFailed("Invalid token header.") from exc
        return ApiKeyCaller(api_key), api_key


_SIGNING_SALT = "stagegate.queueing.api_key"
_KEY_MAX_LENGTH = Token._meta.get_field("key").max_length  # 40


def api_key_new(*, user_id: int) -> str:
    """A new API key naming its user, signed with SECRET_KEY: `<user id>.<12 random>.<16 MAC>`.
    (A user id too long for DRF's 40-character key gets a plain random key: looked up, not read.)"""
    body = f"{user_id}.{secrets.token_urlsafe(9)}"
    key = f"{body}.{_mac(body)}"
    return key if len(key) <= _KEY_MAX_LENGTH else Token.generate_key()


def api_key_signed_user_id(api_key: str) -> int | None:
    """The user id a signed key names, if its signature is ours; else None. No I/O: it proves the
    key was issued to that user, not that it is still live (the caller checks that)."""
    body, _, mac = api_key.rpartition(".")
    user_part = body.partition(".")[0]
    if not user_part.isdigit() or not constant_time_compare(mac, _mac(body)):
        return None
    return int(user_part)


def _mac(body: str) -> str:
    digest = salted_hmac(_SIGNING_SALT, body, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()  # 96 bits


# API key -> (user id, time.monotonic() it lapses); bounded, emptied when full.
_local: dict[str, tuple[int, float]] = {}
_LOCAL_MAX_ENTRIES = 100_000


def api_key_local_user_id(api_key: str) -> int | None:
    """The API key's user id if this process resolved it recently, else None (no I/O)."""
    hit = _local.get(api_key)
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


def api_key_local_remember(api_key: str, user_id: int) -> None:
    if len(_local) >= _LOCAL_MAX_ENTRIES:
        _local.clear()
    _local[api_key] = (user_id, time.monotonic() + settings.QUEUE_AUTH_LOCAL_CACHE_SECONDS)


def api_key_local_cache_clear() -> None:
    _local.clear()


def api_key_cache_key(api_key: str) -> str:
    return redis_key("auth", "apikey", hashlib.sha256(api_key.encode()).hexdigest())


@storage_boundary
def api_key_user_id(api_key: str) -> int | None:
    """The active user owning the API key, from SQL (one query); cached in Redis when found."""
    user_id = Token.objects.filter(key=api_key, user__is_active=True).values_list("user_id", flat=True).first()
    if user_id is not None:
        api_key_remember(api_key, user_id)
    return user_id


def api_key_user_id_from_cache(api_key: str, cached: bytes | str | None) -> int | None:
    """The user id a read of the key's cache entry gave (api_key_cache_key), else from SQL."""
    return int(cached) if cached is not None else api_key_user_id(api_key)


def api_key_remember(api_key: str, user_id: int) -> None:
    """Cache the API key's user (log-in calls it, so even the first poll needs no SQL). Only a
    cache fill: with Redis unavailable it logs and returns (the poll then looks the key up)."""
    try:
        redis_client().set(api_key_cache_key(api_key), user_id, ex=settings.QUEUE_AUTH_CACHE_SECONDS)
    except RedisError:
        logger.warning("queue: API key cache not filled: Redis unavailable")


def api_key_forget(api_key: str) -> None:
    """Drop the cached entry (queueing.receivers calls it when an API token is deleted or its user
    deactivated). Other processes' memory keeps it at most QUEUE_AUTH_LOCAL_CACHE_SECONDS more.
    With Redis unavailable it logs and returns: the entry then lapses after QUEUE_AUTH_CACHE_SECONDS."""
    _local.pop(api_key, None)
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
    """The API key's user id: from this process's memory, the Redis cache, else SQL (then cached)."""
    user_id = api_key_local_user_id(api_key)
    if user_id is not None:
        return user_id
    user_id = api_key_user_id_from_cache(api_key, redis_client().get(api_key_cache_key(api_key)))
    if user_id is not None:
        api_key_local_remember(api_key, user_id)
    return user_id

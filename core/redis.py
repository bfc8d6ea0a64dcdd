"""The shared Redis connection (the same pool django-redis uses) and key naming."""

from django.conf import settings
from django_redis import get_redis_connection
from redis import Redis


def redis_client() -> Redis:
    return get_redis_connection("default")


def redis_text(value: bytes | str) -> str:
    """A Redis reply as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value


def redis_key(*parts: object) -> str:
    """A key under this deployment's prefix: redis_key("queue", "{c42}", "waiting")."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])

"""Production settings: secure by default; everything else from base and the environment."""

from django.core.checks.security.base import SECRET_KEY_MIN_LENGTH, SECRET_KEY_MIN_UNIQUE_CHARACTERS
from django.core.exceptions import ImproperlyConfigured

from config.env import env
from config.settings.base import *  # noqa: F403

# Keys that were ever public (defaults in this repository's settings, compose file and Dockerfile).
# Anyone holding the key forges sessions and signed values, so production refuses them.
PUBLIC_SECRET_KEYS = frozenset({"dev-only-insecure-key-change-me", "change-me-in-production", "collectstatic-only"})


def secret_key_refusal(key: str) -> str | None:
    """Why `key` may not sign anything in production (known, short or repetitive), or None."""
    if key in PUBLIC_SECRET_KEYS or key.startswith("django-insecure"):
        return "DJANGO_SECRET_KEY is a published value; set a random one of your own."
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return (
            f"DJANGO_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters with "
            f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} different ones, e.g. secrets.token_urlsafe(50)."
        )
    return None


SECRET_KEY = env("DJANGO_SECRET_KEY")  # required: no default in production
if (refusal := secret_key_refusal(SECRET_KEY)) is not None:
    raise ImproperlyConfigured(refusal)
PIN_PEPPER = env("PIN_PEPPER")  # required: its own secret, kept out of the database (accounts.pins)
DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

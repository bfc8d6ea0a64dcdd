"""Production settings: secure by default; everything else from base and the environment."""

from config.env import env
from config.settings.base import *  # noqa: F403

SECRET_KEY = env("DJANGO_SECRET_KEY")  # required: no default in production
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

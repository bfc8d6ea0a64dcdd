"""Settings shared by every environment; values come from environment variables (see README)."""

from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, env

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
# The key of the payment PINs' HMAC (accounts.pins). Keep it out of the database and its backups,
# and never change it: every stored PIN depends on it (unlike SECRET_KEY, which may be rotated).
PIN_PEPPER = env("PIN_PEPPER", default="") or SECRET_KEY
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_prometheus",
    "core",
    "accounts",
    "points",
    "concerts",
    "queueing",
    "reservations",
    "pages",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.metrics.RequestCpuMiddleware",
    "core.request_id.RequestIdMiddleware",
    # A storage outage that escaped a view answers 503 SERVICE_UNAVAILABLE, never 500 (core.outage).
    "core.exception_handlers.StorageOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Security headers of every answer (core.security_headers; Django sets Referrer-Policy itself).
# Scripts, styles, images, fonts and connections (the waiting room's event stream) from this site
# only: the templates carry no inline script or style, so an injected one does not run.
CONTENT_SECURITY_POLICY = env(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
# Browser features no page of the service uses, switched off for every page and any frame.
PERMISSIONS_POLICY = env(
    "PERMISSIONS_POLICY",
    default="accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()",
)
SECURE_REFERRER_POLICY = "same-origin"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/stagegate"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# A kept connection is checked before each request uses it: Django's PostgreSQL backend, whose
# check (core.postgresql) costs no round trip while the connection is quiet.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ENGINE"] = "core.postgresql"
# "pgbouncer": the processes reach PostgreSQL through PgBouncer in transaction pooling mode
# (config/pgbouncer/), where each transaction may run on another server connection, so nothing may
# outlive a transaction on the server. Server-side cursors (QuerySet.iterator()) would: they are
# turned off. Prepared statements would too: Django with psycopg 3 never prepares them
# (prepare_threshold None, client-side binding). Empty: straight to PostgreSQL.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise ImproperlyConfigured(f"DATABASE_POOLER must be empty or 'pgbouncer', not {DATABASE_POOLER!r}")
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DATABASE_POOLER == "pgbouncer"
# Straight to PostgreSQL, a statement a connection has run DATABASE_PREPARE_THRESHOLD times (each
# of a hold's and a payment's dozen) is prepared on the server, which then skips parsing and
# planning it: a third less PostgreSQL CPU per hold or payment (docs/performance-log.md, 2026-12-03
# evening). Preparing needs server-side binding; through PgBouncer both stay off. 0: never prepare.
DATABASE_PREPARE_THRESHOLD = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
if DATABASE_POOLER != "pgbouncer" and DATABASE_PREPARE_THRESHOLD > 0:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=DATABASE_PREPARE_THRESHOLD
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# The waiting room on a Redis Cluster (one node's URL; the client finds the others). Empty: on
# REDIS_URL. The cache (sessions, rate limits, the API-key cache) and the Celery broker stay on
# REDIS_URL either way (README, *Redis Cluster*).
REDIS_CLUSTER_URL = env("REDIS_CLUSTER_URL", default="")
# Every Redis key this deployment writes starts with this prefix, so deployments and test runs
# sharing one Redis never collide.
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default="sg")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache",
        # The cache (sessions, rate-limit counters) degrades instead of failing when Redis is
        # down: sessions fall back to PostgreSQL, rate limits let requests through. The waiting
        # room talks to Redis directly and answers 503 instead (core.outage.storage_boundary).
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True},
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# Sessions are read from Redis (written through to PostgreSQL): the fan pages' polling does not
# hit the database for the session.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    # This user model has no username, first_name, last_name or email (the validator's defaults):
    # compare the password with the login (phone) and the name.
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["phone", "name"]},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Static files (admin, Swagger UI, fan pages) are served by the app itself through WhiteNoise.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON with bounds on size and nesting (core.parsers): deep or huge bodies are a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exception_handlers.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Client address for rate limits: REMOTE_ADDR (0), or the X-Forwarded-For entry added by the
    # first of that many trusted proxies in front of gunicorn.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    # Rate limits (core.throttling): "<scope>_ip" per client address, "<scope>_user" per user
    # (per phone number tried, for login). Generous per address: many fans share one carrier NAT.
    "DEFAULT_THROTTLE_RATES": {
        "signup_ip": env("THROTTLE_SIGNUP_IP", default="20/min"),
        "login_ip": env("THROTTLE_LOGIN_IP", default="120/min"),
        "login_user": env("THROTTLE_LOGIN_USER", default="10/min"),
        "queue_enter_ip": env("THROTTLE_QUEUE_ENTER_IP", default="600/min"),
        "queue_enter_user": env("THROTTLE_QUEUE_ENTER_USER", default="30/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Stagegate API",
    "DESCRIPTION": "Concert ticketing for the on-sale rush: waiting room, seat holds, point wallet.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets are served by the project itself (no CDN), so the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis is the broker; beat reads its schedule from the database (django-celery-beat).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# Broker keys under the deployment's prefix: deployments sharing a Redis never share a queue.
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:broker:"}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# No result backend: its stand-in keeps no state, so one per process, not one per thread (each
# thread's first publish would build its own, scanning every installed package's entry points).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Workers log through Django's LOGGING (JSON lines), like the web processes.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# E-mail (notices to fans, reservations.notices, sent by Celery tasks): printed on the console
# unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = env("EMAIL_HOST", default="")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Stagegate <no-reply@localhost>")

# ---------------------------------------------------------------------------------------------
# Policies (SPEC section 1). Per-concert policies are fields on concerts.Concert; these are the
# global ones.
# ---------------------------------------------------------------------------------------------
# Point wallet
WALLET_CHARGE_MIN = env.int("WALLET_CHARGE_MIN", default=1_000)
WALLET_CHARGE_MAX = env.int("WALLET_CHARGE_MAX", default=1_000_000)
WALLET_BALANCE_CAP = env.int("WALLET_BALANCE_CAP", default=10_000_000)
# A seat's price range (concerts.prices): below 1 won a hold could never be paid; the maximum is
# capped by the price columns (2,147,483,647).
SEAT_PRICE_MIN = env.int("SEAT_PRICE_MIN", default=1)
SEAT_PRICE_MAX = env.int("SEAT_PRICE_MAX", default=10_000_000)
# The most seats one venue's layout may have (the largest stadiums hold about 70,000): a layout
# typed with a slip ("1-99999 999 S") is refused with a message instead of filling the database.
VENUE_SEATS_MAX = env.int("VENUE_SEATS_MAX", default=100_000)
# Log-in (accounts.services.user_authenticate; the API, the fan pages and the admin alike). Besides
# the per-address and per-account attempt rates (login_ip, login_user above), an account whose
# log-ins keep failing is slowed down: from the BEFORE_DELAY-th failure in a row on, each failure
# makes the next attempt wait, DELAY seconds and doubling up to DELAY_MAX. A success clears the
# count; so does FAILURE_MEMORY seconds without a failure. Nobody is locked out for good.
LOGIN_FAILURES_BEFORE_DELAY = env.int("LOGIN_FAILURES_BEFORE_DELAY", default=5)
LOGIN_FAILURE_DELAY_SECONDS = env.int("LOGIN_FAILURE_DELAY_SECONDS", default=30)
LOGIN_FAILURE_DELAY_MAX_SECONDS = env.int("LOGIN_FAILURE_DELAY_MAX_SECONDS", default=900)
LOGIN_FAILURE_MEMORY_SECONDS = env.int("LOGIN_FAILURE_MEMORY_SECONDS", default=86_400)
# Wrong payment PINs per account (payments and withdrawals, across holds): past this many within
# a fixed window, PIN checks are refused (429 with Retry-After) until the window ends.
PIN_WRONG_PER_ACCOUNT = env.int("PIN_WRONG_PER_ACCOUNT", default=10)
PIN_WRONG_WINDOW_SECONDS = env.int("PIN_WRONG_WINDOW_SECONDS", default=3600)
# Support's temporary password for a fan who forgot theirs (accounts.services.user_password_set_temporary):
# this many characters from 31 unambiguous letters and digits (12: about 59 bits).
TEMPORARY_PASSWORD_LENGTH = env.int("TEMPORARY_PASSWORD_LENGTH", default=12)
# An API key (`Authorization: Token`) works this long after log-in issued it; then log in again.
API_KEY_LIFETIME_SECONDS = env.int("API_KEY_LIFETIME_SECONDS", default=30 * 86_400)
# Waiting room
QUEUE_PROMOTION_INTERVAL_SECONDS = env.float("QUEUE_PROMOTION_INTERVAL_SECONDS", default=1.0)
# The booking reads keep a show's concert and a concert's shows per process this long (an
# organizer's edit of a show shows on the booking API within it; concerts.selectors).
CATALOG_CACHE_SECONDS = env.float("CATALOG_CACHE_SECONDS", default=2.0)
# Each web process draws a concert page's body (its shows, remaining seats, countdown) once per
# this many seconds of the clock, for every fan alike (pages.catalog); 0: for every request.
CONCERT_PAGE_KEEP_SECONDS = env.float("CONCERT_PAGE_KEEP_SECONDS", default=1.0)
# Seat maps (concerts.seat_map): a web process rebuilds its kept map of a show at the latest after
# this long, even if no change was announced (a safety net; changes replace it at once).
SEAT_MAP_MAX_AGE_SECONDS = env.float("SEAT_MAP_MAX_AGE_SECONDS", default=10.0)
# ... and after a change, not before its kept map is this old (at most one rebuild per this long
# per process while the seats keep changing; 0: every change at once).
SEAT_MAP_REBUILD_SECONDS = env.float("SEAT_MAP_REBUILD_SECONDS", default=0.5)
# The organizers' sales dashboard of a show (reservations.admin): it reloads its numbers every
# this many seconds; its sales chart has at most this many bars (per minute, else hour, else day).
SALES_DASHBOARD_REFRESH_SECONDS = env.int("SALES_DASHBOARD_REFRESH_SECONDS", default=5)
SALES_CHART_MAX_BARS = env.int("SALES_CHART_MAX_BARS", default=60)
# The seat-map page (pages.seat_layout): a row is cut into blocks of at most this many seats side
# by side (one block fits a phone with 44 px seats); halls of more than SEAT_MAP_OVERVIEW_MIN_SEATS
# seats open on an overview of their sections, zoomed into one at a time; the page asks for
# changes of the seats every SEAT_MAP_POLL_SECONDS (a 304 while nothing changed).
SEAT_MAP_BLOCK_SEATS = env.int("SEAT_MAP_BLOCK_SEATS", default=6)
SEAT_MAP_OVERVIEW_MIN_SEATS = env.int("SEAT_MAP_OVERVIEW_MIN_SEATS", default=150)
SEAT_MAP_POLL_SECONDS = env.float("SEAT_MAP_POLL_SECONDS", default=5.0)
# Holds
HOLD_EXPIRY_INTERVAL_SECONDS = env.float("HOLD_EXPIRY_INTERVAL_SECONDS", default=5.0)
# Paid bookings are confirmed by mail by a sweep every BOOKING_CONFIRMATION_INTERVAL_SECONDS, at
# most BOOKING_CONFIRMATION_BATCH a sweep; a confirmation the mail server refused is tried again
# at each sweep until its booking is BOOKING_CONFIRMATION_MAX_AGE_HOURS old (reservations.notices).
BOOKING_CONFIRMATION_INTERVAL_SECONDS = env.float("BOOKING_CONFIRMATION_INTERVAL_SECONDS", default=5.0)
BOOKING_CONFIRMATION_BATCH = env.int("BOOKING_CONFIRMATION_BATCH", default=200)
BOOKING_CONFIRMATION_MAX_AGE_HOURS = env.int("BOOKING_CONFIRMATION_MAX_AGE_HOURS", default=24)

# API input bounds (core.parsers, core.serializers, core.exception_handlers). No request of the API
# needs more than a few kilobytes or levels; bodies past them are a 400 before any work is done.
API_JSON_MAX_BYTES = env.int("API_JSON_MAX_BYTES", default=64 * 1024)
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=20)
# The most seat ids one hold or refund request may name, checked before the ids themselves (a
# concert's own seats-per-user limit is checked by the hold).
API_SEAT_IDS_MAX = env.int("API_SEAT_IDS_MAX", default=100)
# An error answer lists at most this many entries per list or object of field errors.
API_ERROR_DETAILS_MAX = env.int("API_ERROR_DETAILS_MAX", default=10)

# /metrics (core.metrics): a scrape sends `Authorization: Bearer <METRICS_TOKEN>`. Empty (the
# development default): only this machine may read it, and not through a proxy.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# Structured logs: one JSON object per line with the request id (LOG_FORMAT=plain for humans).
# Retry-After of a 503 when PostgreSQL or Redis cannot be reached.
SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = env.int("SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS", default=5)
# A request body the application did not read (an early 401, 404, 403) is read to its end up to
# this size after the answer, so the client's kept-alive connection stays usable (core/wsgi.py);
# Django's own limit on bodies it reads, by default.
REQUEST_BODY_DRAIN_MAX_BYTES = env.int(
    "REQUEST_BODY_DRAIN_MAX_BYTES", default=global_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
)

LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.request_id.RequestIdLogFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# ---------------------------------------------------------------------------------------------
# Waiting room (queueing). Per-concert policies (size of the line, active places, session
# minutes) are Concert fields; these are the global knobs of the queueing app.
# ---------------------------------------------------------------------------------------------
# The estimated wait uses the admissions observed in this window (also the admin's "admitted
# recently" figure); with none observed it falls back to active size / session length.
QUEUE_RATE_WINDOW_SECONDS = env.int("QUEUE_RATE_WINDOW_SECONDS", default=60)
# The opening ramp: when fans are let into an empty active set (a sale's opening, a resumed room
# whose sessions all ended), at most this many of its places open per second, so that the first
# hundred fans do not all hold and pay within the same two seconds. 20: on the project's 2-core
# machine the booking pool serves 60-90 calls a second while 10,000 fans enter, and a fan makes
# 3-4 booking calls within seconds of admission. 0: every place at once. Once the active set is
# full, a freed place is handed on at once, as before.
QUEUE_OPENING_RAMP_PER_SECOND = env.int("QUEUE_OPENING_RAMP_PER_SECOND", default=20)
# Retry-After of a 503 QUEUE_FULL (SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS: of a Redis outage).
QUEUE_FULL_RETRY_AFTER_SECONDS = env.int("QUEUE_FULL_RETRY_AFTER_SECONDS", default=30)
# refresh_after_seconds of a WAITING answer: MIN at the front, one more second per STEP places
# back, at most MAX (and never much later than the estimated wait). ACTIVE answers: ACTIVE.
# MAX was 60 until 2026-12-03: far back, the streams' reconnections every minute were most of
# what the waiting fans cost (README *Performance*), and 120 s is well within the abandon time.
QUEUE_REFRESH_MIN_SECONDS = env.int("QUEUE_REFRESH_MIN_SECONDS", default=2)
QUEUE_REFRESH_MAX_SECONDS = env.int("QUEUE_REFRESH_MAX_SECONDS", default=120)
QUEUE_REFRESH_STEP_POSITIONS = env.int("QUEUE_REFRESH_STEP_POSITIONS", default=50)
QUEUE_REFRESH_ACTIVE_SECONDS = env.int("QUEUE_REFRESH_ACTIVE_SECONDS", default=15)
# A waiting fan's event stream (queueing.events) ends after this long; the client connects again.
QUEUE_EVENTS_MAX_SECONDS = env.int("QUEUE_EVENTS_MAX_SECONDS", default=300)
# ... sends a comment line when no status went out for this long (proxies and clients time idle
# connections out; a status far back in the line comes only every QUEUE_REFRESH_MAX_SECONDS) ...
# 45 s: under the 60 s that proxies commonly allow an idle answer (HAProxy's `timeout server`
# here, nginx's proxy_read_timeout, cloud load balancers). It was 20 until 2026-12-04: a
# heartbeat costs the loop and the proxy a write, as a status does, and with 20 s a 10,000-fan
# run's streams sent 8,800 heartbeats beside their 28,800 statuses (with 45 s, 3,100 in a
# longer run).
QUEUE_EVENTS_HEARTBEAT_SECONDS = env.float("QUEUE_EVENTS_HEARTBEAT_SECONDS", default=45)
# ... sends a waiting fan's status every this many of its refreshes (refresh_after_seconds x this,
# at most QUEUE_REFRESH_MAX_SECONDS; twice as far apart each time while the fan's place stalls; a
# pre-queue fan's comes by the opening as before): an admission is told at once by its own
# wake-up, so the statuses between only move the place and the estimate on. 2 since 2026-12-04:
# in a 10,000-fan rush the statuses were the largest part of what the crowd cost the event loop
# while it waited for returned seats (README *Performance*). The `retry` an EventSource
# reconnects after, and a poll's pace, stay refresh_after_seconds. 1: every refresh.
QUEUE_EVENTS_STATUS_EVERY_REFRESHES = env.int("QUEUE_EVENTS_STATUS_EVERY_REFRESHES", default=2)
# ... and is held open only for fans within this many places of the front: one further back gets
# its status with the `retry` delay (its refresh, up to QUEUE_REFRESH_MAX_SECONDS) and the stream
# ends; the client connects again then, as an EventSource does. Every held stream costs the proxy
# two file descriptors (the fan's and uvicorn's), and a process has a fixed number of them.
QUEUE_EVENTS_HOLD_MAX_POSITION = env.int("QUEUE_EVENTS_HOLD_MAX_POSITION", default=4000)
# A browser's EventSource cannot send `Authorization: Token`, and the event loop runs no Django
# session machinery: the waiting page gives its stream a signed ticket (the fan's id and queue
# token, queueing.services.queue_stream_ticket_issue), good for this many seconds; the page makes
# a new one whenever it loads, and past it the page polls with its session instead.
QUEUE_STREAM_TICKET_SECONDS = env.int("QUEUE_STREAM_TICKET_SECONDS", default=3600)
# The concert page's button enters the waiting room on the same event loop, with a signed entry
# ticket (the fan's id and the concert, queueing.services.queue_entry_ticket_issue) in place of
# the session and its CSRF token, good for this many seconds: a page opened long before the
# opening still enters at once; past it, the page's form enters with the session.
QUEUE_ENTRY_TICKET_SECONDS = env.int("QUEUE_ENTRY_TICKET_SECONDS", default=6 * 3600)
# ... and the streams of one process share at most this many Redis connections.
# The event loop's calls of the waiting crowd that can wait a moment (entries, leaves, the
# streams' statuses due by the clock and their key reads) go to Redis in one pipeline per batch,
# sent at most this many seconds after its first call (0: with the calls of the same pass of
# the loop): a call alone costs the loop about four times the CPU. An admission is told at once.
QUEUE_REDIS_BATCH_SECONDS = env.float("QUEUE_REDIS_BATCH_SECONDS", default=0.05)
QUEUE_EVENTS_REDIS_CONNECTIONS = env.int("QUEUE_EVENTS_REDIS_CONNECTIONS", default=32)
# The event loops (config/asgi.py) look for garbage cycles after this many new objects instead
# of Python's 700. A loop holding thousands of streams makes objects that live across a Redis
# batch (50 ms): at 700 they were scanned and promoted again and again, and each promotion brought
# the next full pass over every stream's objects nearer. perf, 90 s of a 10,000-fan rush after
# the entries: the collector 7.2 % of the waiting room's loop at 700, 2.5 % at 10,000.
ASGI_GC_THRESHOLD = env.int("ASGI_GC_THRESHOLD", default=10_000)
# Poll and enter resolve `Authorization: Token` from a Redis cache of API token -> user id and
# expiry (filled at log-in or on a database lookup) so they cost no SQL; an entry lives this long
# (at most until the key expires). Long enough that fans who logged in before an on-sale enter
# without SQL: ending a key or deactivating a user drops the entry at once (accounts.receivers),
# so this bounds only a revocation by bulk SQL that bypasses Django's signals.
QUEUE_AUTH_CACHE_SECONDS = env.int("QUEUE_AUTH_CACHE_SECONDS", default=3600)
# Entering reads a concert's queue policy and booking windows from SQL at most once per this
# many seconds per process (windows are checked against the clock on every call).
QUEUE_POLICY_CACHE_SECONDS = env.float("QUEUE_POLICY_CACHE_SECONDS", default=2.0)
# Hard time limit of one promotion run (queueing.tasks.promote_all).
QUEUE_PROMOTION_TIME_LIMIT_SECONDS = env.int("QUEUE_PROMOTION_TIME_LIMIT_SECONDS", default=30)

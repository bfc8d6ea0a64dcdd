"""Test settings: the real PostgreSQL and Redis, isolated per test run.

Each run gets its own database name and Redis key prefix (pytest-xdist workers each import this
module, so each worker is isolated too), so concurrent runs on one machine never collide.
"""

import os
import uuid

from config.settings.base import *  # noqa: F403
from config.settings.base import CACHES, DATABASES, REST_FRAMEWORK

TEST_RUN_ID = (os.environ.get("STAGEGATE_TEST_RUN_ID") or uuid.uuid4().hex[:10]) + os.environ.get(
    "PYTEST_XDIST_WORKER", ""
)

DATABASES["default"]["TEST"] = {"NAME": f"test_stagegate_{TEST_RUN_ID}"}
DATABASES["default"]["CONN_MAX_AGE"] = 0
REDIS_KEY_PREFIX = f"sgtest:{TEST_RUN_ID}"
CACHES["default"]["KEY_PREFIX"] = f"{REDIS_KEY_PREFIX}:cache"

# Tests don't need collectstatic's manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = False
# Tasks enqueued after a commit go to an in-process broker, never to a shared Redis queue that a
# development worker might run against its own database; tests run the task bodies themselves.
CELERY_BROKER_URL = "memory://"
DEBUG = False
# Serve static files straight from the apps (no collectstatic) in tests and live-server tests.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Rate limits would trip over the many signups and entries of the suite, all from 127.0.0.1;
# the rate-limit tests set their own low rates.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {scope: "100000/min" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
# Every enter reads the concert's queue policy afresh (tests change policies and shows at will).
QUEUE_POLICY_CACHE_SECONDS = 0
CATALOG_CACHE_SECONDS = 0
CONCERT_PAGE_KEEP_SECONDS = 0
SEAT_MAP_REBUILD_SECONDS = 0  # tests see every change of the seats at once

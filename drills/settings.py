"""Settings of the processes a drill or the load test starts: exactly config.settings.base
(whose Celery broker keys are already under the stack's REDIS_KEY_PREFIX, so stacks sharing one
Redis never take each other's tasks), plus:

- DRILL_FAST_HASHER=1 (pytest drills only) also accepts the MD5 hasher that config.settings.test
  uses, so users made by the test process can log in to the subprocesses with their password.
"""

from config.env import env
from config.settings.base import *  # noqa: F403

if env.bool("DRILL_FAST_HASHER", default=False):
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

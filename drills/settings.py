"""Settings of the processes a drill or the load test starts: exactly config.settings.base, plus
two things that only matter when several stacks share one Redis and one machine.

- Celery's broker keys go under the stack's REDIS_KEY_PREFIX (kombu's `global_keyprefix`), so a
  drill's workers never consume another stack's tasks (nor the other way round) on the shared
  Redis. Production may want the same line in config/settings/base.py.
- DRILL_FAST_HASHER=1 (pytest drills only) also accepts the MD5 hasher that config.settings.test
  uses, so users made by the test process can pay in the subprocesses without a 0.2 s PBKDF2.
"""

from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import REDIS_KEY_PREFIX

CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:broker:"}

if env.bool("DRILL_FAST_HASHER", default=False):
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

"""Rate limits on what a bot would hammer: signup, log-in and entering a waiting room. The rates
are settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "<scope>_ip" and "<scope>_user"); past a
limit: 429 RATE_LIMITED with Retry-After.

Signup and log-in count in their services (`rate_limit_count`, called by the API, the fan pages
and the admin's log-in alike), so every way in shares one count; entering a waiting room counts
in its Redis script (queueing.enter_limits). The client address is read as DRF's throttles read it
(`client_ip`).
"""

import contextlib
import logging
import math
from types import SimpleNamespace

from django.core.cache import cache
from redis.commands.core import Script
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.clock import clock
from core.exceptions import RateLimited
from core.redis import redis_client

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "30/min" -> (30, 60), as DRF reads a throttle rate."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


# Counting an attempt in a window is one round trip: the increment, the counter's lifetime (set
# when it is created) and a place given back at once, atomically (so concurrent attempts never all
# slip under a limit). KEYS[1] the counter; ARGV[1] its lifetime in seconds; ARGV[2] the count past
# which the place is given back (0: never); ARGV[3] "1" to give it back whatever the count.
_COUNT_ATTEMPT = Script(
    None,
    b"""
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if ARGV[3] == '1' or (tonumber(ARGV[2]) > 0 and count > tonumber(ARGV[2])) then
  redis.call('DECR', KEYS[1])
end
return count
""",
)


def cache_incr(key: str, *, timeout: int, give_back_past: int = 0, give_back: bool = False) -> int | None:
    """Add one to the cache's counter `key` (created with `timeout` seconds to live) and return
    the count with this one. Its place is given back at once when `give_back` is set, or when the
    count is past `give_back_past` (a refused attempt that must not count). None when Redis is
    unavailable (as the cache ignores Redis errors: limits then let requests through)."""
    try:
        count = _COUNT_ATTEMPT(
            keys=[cache.make_key(key)], args=[timeout, give_back_past, int(give_back)], client=redis_client()
        )
    except RedisError:
        logger.warning("counter %s not counted: Redis unavailable", key)
        return None
    return int(count)


def cache_give_back(key: str) -> None:
    """Give back the place an earlier cache_incr of `key` took (nothing if the counter lapsed
    meanwhile; with Redis unavailable the cache ignores it, as cache_incr does)."""
    with contextlib.suppress(ValueError):  # django-redis: no such key
        cache.decr(key)


def rate_limit_count(*, scope: str, ident: str, error: type[RateLimited] = RateLimited) -> None:
    """Count one attempt against the rate named `scope` ("login_ip") for `ident`, in a fixed window
    of the injectable clock; past the rate raise `error` with retry_after_seconds (the window's
    end). Refused attempts count too. No rate set for the scope: nothing is counted."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
    if not rate:
        return
    limit, seconds = parse_rate(rate)
    now = clock.timestamp()
    window = int(now // seconds)
    count = cache_incr(f"ratelimit:{scope}:{ident}:{window}", timeout=seconds + 1)
    if count is not None and count > limit:
        raise error(retry_after_seconds=max(1, math.ceil((window + 1) * seconds - now)))


class _ScopedThrottle(SimpleRateThrottle):
    """A throttle whose rate is looked up as "<view's throttle_scope>_<suffix>"."""

    suffix = ""

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.scope = f"{view.throttle_scope}_{self.suffix}"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        # Unlike DRF's base class: the scope is known only per view, and the rates are read when
        # used (not at import), so settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) if self.scope else None


class PerIpThrottle(_ScopedThrottle):
    suffix = "ip"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def client_ip(request) -> str:
    """The client address as the rate limits see it (an HttpRequest or a DRF Request): DRF's
    get_ident, honouring NUM_PROXIES."""
    return PerIpThrottle().get_ident(request)


def client_ip_from(*, forwarded_for: str | None, remote_addr: str | None) -> str:
    """client_ip outside a Django request (the bare ASGI apps): from the X-Forwarded-For header
    and the peer's address, read by the same get_ident."""
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for is not None else {}
    return client_ip(SimpleNamespace(headers=headers, META={"REMOTE_ADDR": remote_addr or ""}))

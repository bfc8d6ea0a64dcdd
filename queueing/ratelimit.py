"""Rate limits on entering a waiting room, per user and per client address.

The limits are the DRF throttle rates of scope "queue_enter" (one definition, in settings:
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["queue_enter_user" / "queue_enter_ip"], read when used so
overrides apply) and the client address is taken as core.throttling takes it (DRF's get_ident,
honouring NUM_PROXIES). They are counted here in Redis fixed windows (INCR + EXPIRE, both limits
in one pipelined round trip) rather than by DRF's throttles, whose request history is read and
written whole on every call: entering is the second-busiest call of an on-sale rush, served on the
lean path as well as by DRF. A fixed window may let up to twice the rate through across a window
boundary; past a limit the answer is 429 RATE_LIMITED with Retry-After (the window's end).
"""

import math

from rest_framework.settings import api_settings

from core.clock import clock
from core.exceptions import RateLimited
from core.redis import redis_client, redis_key
from core.throttling import PerIpThrottle
from queueing.scripts import redis_boundary

SCOPE = "queue_enter"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_rate(rate: str) -> tuple[int, int]:
    """ "30/min" -> (30, 60), as DRF reads a throttle rate."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def client_ip(request) -> str:
    """The client address as the rate limits see it (an HttpRequest or a DRF Request)."""
    return PerIpThrottle().get_ident(request)


@redis_boundary
def queue_enter_rate_check(*, user_id: int, ip: str) -> None:
    """Count one entry attempt of the user from the address; raises RateLimited (with
    retry_after_seconds) past either limit. One Redis round trip."""
    now = clock.timestamp()
    windows = []
    for suffix, ident in (("user", str(user_id)), ("ip", ip)):
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(f"{SCOPE}_{suffix}")
        if not rate:
            continue
        limit, seconds = _parse_rate(rate)
        window = int(now // seconds)
        windows.append((redis_key("ratelimit", SCOPE, suffix, ident, str(window)), limit, (window + 1) * seconds))
    if not windows:
        return
    with redis_client().pipeline(transaction=False) as pipe:
        for key, _limit, ends in windows:
            pipe.incr(key)
            pipe.expireat(key, math.ceil(ends) + 1)
        counts = pipe.execute()[::2]
    waits = [ends - now for (_key, limit, ends), count in zip(windows, counts, strict=True) if count > limit]
    if waits:
        raise RateLimited(retry_after_seconds=max(1, math.ceil(max(waits))))

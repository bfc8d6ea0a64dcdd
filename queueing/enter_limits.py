"""Rate limits on entering a waiting room, per user and per client address, per concert.

The limits are the DRF throttle rates of scope "queue_enter" (one definition, in settings:
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["queue_enter_user" / "queue_enter_ip"], read when used so
overrides apply) and the client address is core.throttling.client_ip (DRF's get_ident, honouring
NUM_PROXIES). They are counted in Redis fixed windows by the ENTER script itself
(queueing.services.queue_enter): the counters are keys under the concert's hash tag, so counting
costs no round trip of its own and the script still touches one Redis Cluster slot. That makes
the limits per concert: a user (or an address) may enter each concert's room that many times per
window. Every entry attempt that reaches the script counts, a refused one included; attempts
refused before it (unknown concert, booking closed) do not. A fixed window may let up to twice the
rate through across a window boundary; past a limit the answer is 429 RATE_LIMITED with
Retry-After (the window's end) and the room is not touched.
"""

from dataclasses import dataclass

from rest_framework.settings import api_settings

from core.throttling import parse_rate

SCOPE = "queue_enter"


@dataclass(frozen=True)
class EnterWindow:
    """One limit's current fixed window: the counter's key suffix, the limit, the window's end."""

    name: str  # the key suffix under the concert's tag: rate:<user|ip>:<ident>:<window number>
    limit: int
    ends: int  # epoch second


def enter_window(*, kind: str, ident: int | str, now: float) -> EnterWindow | None:
    """The current window of the `kind` ("user" or "ip") limit for `ident`; None if no limit is set."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(f"{SCOPE}_{kind}")
    if not rate:
        return None
    limit, seconds = parse_rate(rate)
    window = int(now // seconds)
    return EnterWindow(f"rate:{kind}:{ident}:{window}", limit, (window + 1) * seconds)

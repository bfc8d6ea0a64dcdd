"""The waiting room's writes: enter, leave, remove, promote, extend, pause, flush.

Each change is one Lua script (queueing.scripts) on the concert's hash-tagged keys, so it is
atomic whatever runs at the same time (web instances, workers, two beat processes). Time comes
from core.clock and goes into the scripts as an argument.

The reservations app calls `queue_remove`, `queue_is_active` and `queue_extend_until`.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from core.clock import clock
from core.redis import redis_client
from queueing.exceptions import BookingClosed, ConcertNotFound, QueueFull, QueueNotActive, TokenNotFound
from queueing.scripts import ENTER, EXTEND, LEAVE, PROMOTE, concert_keys, redis_boundary, run_script
from queueing.selectors import (
    QueueStatus,
    QueueTokenStatus,
    build_status,
    concert_queue_policy,
    concert_queue_policy_cached,
    concerts_on_sale,
    queue_status,
    queue_user_status,
    token_concert_id,
)

logger = logging.getLogger(__name__)

# Bytes of randomness of a queue token (secrets.token_urlsafe): 32 bytes = 256 bits.
TOKEN_BYTES = 32
# The fan pages keep their queue tokens in the session under this key: {"<concert id>": token}.
SESSION_QUEUE_TOKENS = "queue_tokens"


@dataclass(frozen=True)
class PromotionResult:
    concert_id: int
    expired: int
    admitted: int


def _now_arg(now: float) -> str:
    return f"{now:.6f}"


def queue_token_new(*, concert_id: int) -> str:
    return f"{concert_id}.{secrets.token_urlsafe(TOKEN_BYTES)}"


@redis_boundary
def queue_enter(*, user_id: int, concert_id: int) -> QueueStatus:
    """Enter the concert's waiting room, or get back the token the user already holds there.

    No SQL query while the concert's policy is cached (concert_queue_policy_cached), and one
    script. The user is admitted
    at once when a place is free and nobody waits. `created` tells a new token from the same one.
    Raises ConcertNotFound, BookingClosed (no show's booking window contains now), QueueFull.
    """
    now = clock.now()
    policy = concert_queue_policy_cached(concert_id=concert_id, now=now)
    if policy is None:
        raise ConcertNotFound()
    if not policy.booking_open:
        raise BookingClosed()
    ts = now.timestamp()
    answer = run_script(
        redis_client(),
        ENTER,
        concert_keys(concert_id),
        [
            user_id,
            queue_token_new(concert_id=concert_id),
            _now_arg(ts),
            policy.active_size,
            policy.session_seconds,
            policy.max_waiting,
            settings.QUEUE_RATE_WINDOW_SECONDS,
        ],
    )
    if answer[0] in (b"FULL", "FULL"):
        raise QueueFull(retry_after_seconds=settings.QUEUE_FULL_RETRY_AFTER_SECONDS, max_waiting=policy.max_waiting)
    token = answer[1].decode() if isinstance(answer[1], bytes) else answer[1]
    return build_status(token=token, concert_id=concert_id, where=answer[2:], now=ts, created=bool(answer[0]))


def _leave(*, user_id: int, concert_id: int, token: str) -> tuple[bool, int]:
    ts = clock.timestamp()
    removed, admitted = run_script(
        redis_client(),
        LEAVE,
        concert_keys(concert_id),
        [user_id, token, _now_arg(ts), settings.QUEUE_RATE_WINDOW_SECONDS],
    )
    return bool(removed), admitted


@redis_boundary
def queue_leave(*, user_id: int, token: str | None) -> None:
    """The user leaves with their token (waiting or active); the freed place goes to the next in
    line at once. Raises TokenNotFound unless the token is the user's."""
    concert_id = token_concert_id(token)
    if concert_id is None:
        raise TokenNotFound()
    removed, _ = _leave(user_id=user_id, concert_id=concert_id, token=token)
    if not removed:
        raise TokenNotFound()


@redis_boundary
def queue_remove(*, user_id: int, concert_id: int, reason: str) -> bool:
    """Take the user out of the concert's room (after payment, an unpaid hold's expiry, too many
    failed payments) and give the place to the next in line at once. Idempotent: False if the
    user held no token there."""
    removed, admitted = _leave(user_id=user_id, concert_id=concert_id, token="")
    if removed:
        logger.info("queue: removed user %s from concert %s (%s); admitted %s", user_id, concert_id, reason, admitted)
    return removed


@redis_boundary
def queue_is_active(*, user_id: int, concert_id: int) -> bool:
    """True if the user holds an ACTIVE token of the concert whose session has not ended."""
    current = queue_user_status(user_id=user_id, concert_id=concert_id)
    return current is not None and current.status is QueueTokenStatus.ACTIVE


@redis_boundary
def queue_extend_until(*, user_id: int, concert_id: int, until: datetime) -> bool:
    """Keep the user's session open at least until `until` (a hold's end): the session end becomes
    max(current end, until). Only a session still active is extended; returns whether it was."""
    ends = run_script(
        redis_client(),
        EXTEND,
        concert_keys(concert_id),
        [user_id, _now_arg(until.timestamp()), _now_arg(clock.timestamp())],
    )
    return ends is not None


@redis_boundary
def queue_promote(
    *, concert_id: int, active_size: int | None = None, session_minutes: int | None = None
) -> PromotionResult:
    """Drop the concert's ended sessions and admit the longest-waiting users into the free places,
    in one script: any number of promoters at once never admit past the active size nor anyone
    twice. The policy is read from the concert unless given (promote_all passes it)."""
    if active_size is None or session_minutes is None:
        policy = concert_queue_policy(concert_id=concert_id, now=clock.now())
        if policy is None:
            raise ConcertNotFound()
        active_size, session_minutes = policy.active_size, policy.session_minutes
    expired, admitted = run_script(
        redis_client(),
        PROMOTE,
        concert_keys(concert_id),
        [_now_arg(clock.timestamp()), active_size, session_minutes * 60, settings.QUEUE_RATE_WINDOW_SECONDS],
    )
    return PromotionResult(concert_id=concert_id, expired=expired, admitted=admitted)


def queue_promote_all() -> list[PromotionResult]:
    """One promotion per concert on sale (one SQL query, then one script per concert)."""
    return [
        queue_promote(
            concert_id=policy.concert_id, active_size=policy.active_size, session_minutes=policy.session_minutes
        )
        for policy in concerts_on_sale(now=clock.now())
    ]


@redis_boundary
def queue_set_paused(*, concert_id: int, paused: bool) -> None:
    """Pause or resume admission (the line still forms; nobody is admitted while paused)."""
    meta = concert_keys(concert_id)[4]
    if paused:
        redis_client().hset(meta, "paused", "1")
    else:
        redis_client().hdel(meta, "paused")


@redis_boundary
def queue_flush(*, concert_id: int) -> None:
    """Empty the concert's room: every token (waiting and active) is gone. The pause flag and the
    arrival counter stay. One DEL of keys in one slot, so it is atomic."""
    waiting, active, tokens, users, _meta, admits = concert_keys(concert_id)
    redis_client().delete(waiting, active, tokens, users, admits)


def queue_require_active(*, user_id: int, concert_id: int, token: str | None) -> QueueStatus:
    """The booking guard's check: the token is the user's, of this concert, and ACTIVE.

    Raises QueueNotActive with the token's status and position (both null when the token is
    missing, not of this concert, not the user's or ended). One Redis round trip.
    """
    if token_concert_id(token) != concert_id:
        raise QueueNotActive(status=None, position=None)
    try:
        current = queue_status(user_id=user_id, token=token)
    except TokenNotFound:
        raise QueueNotActive(status=None, position=None) from None
    if current.status is not QueueTokenStatus.ACTIVE:
        raise QueueNotActive(status=current.status.value, position=current.position)
    return current


def queue_token_from_session(*, session, concert_id: int) -> str | None:
    """The fan pages' token of the concert kept in the session (SESSION_QUEUE_TOKENS)."""
    tokens = session.get(SESSION_QUEUE_TOKENS) or {}
    return tokens.get(str(concert_id)) if isinstance(tokens, dict) else None


def queue_token_to_session(*, session, concert_id: int, token: str) -> None:
    tokens = dict(session.get(SESSION_QUEUE_TOKENS) or {})
    tokens[str(concert_id)] = token
    session[SESSION_QUEUE_TOKENS] = tokens

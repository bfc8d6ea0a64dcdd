"""The waiting room's writes: enter (the pre-queue before booking opens, the line after), leave,
remove, promote (opening shuffle, expiry, abandoned places, admission), extend, pause, flush.

Each change is one Lua script (queueing.scripts) on the concert's hash-tagged keys, so it is
atomic whatever runs at the same time (web instances, workers, two beat processes). Time comes
from core.clock and goes into the scripts as an argument.

The reservations app calls `queue_remove`, `queue_extend_until` and `queue_flush`.
"""

import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.utils import timezone

from accounts.authentication import api_key_caller_id
from concerts.exceptions import ConcertNotFound
from concerts.models import Concert
from core.clock import clock
from core.exceptions import ApplicationError, RateLimited, ServiceUnavailable
from core.metrics import metric_incr, metric_incr_command
from core.outage import storage_boundary
from core.redis import queue_redis
from queueing.aio import caller_id, redis_command_batched, run_script_batched
from queueing.enter_limits import enter_window
from queueing.exceptions import (
    BookingClosed,
    EntryTicketInvalid,
    QueueFull,
    QueueNotActive,
    StreamTicketInvalid,
    TokenNotFound,
)
from queueing.scripts import (
    ENTER,
    EXTEND,
    LEAVE,
    PROMOTE,
    EnterAnswer,
    LeaveAnswer,
    PromoteAnswer,
    concert_key,
    concert_keys,
    run_script,
)
from queueing.selectors import (
    CallerInRoom,
    QueuePolicy,
    QueueStatus,
    QueueTokenStatus,
    aconcert_queue_policy_cached,
    build_status,
    concert_queue_policy,
    concert_queue_policy_cache_clear,
    concert_queue_policy_cached,
    concerts_on_sale,
    queue_status,
    token_concert_id,
)

logger = logging.getLogger(__name__)

# Bytes of randomness of a queue token (secrets.token_urlsafe): 32 bytes = 256 bits.
TOKEN_BYTES = 32
# Tickets signed for one purpose cannot pass for another signed value of the project's.
_STREAM_TICKET_SALT = "queueing.stream-ticket"
_ENTRY_TICKET_SALT = "queueing.entry-ticket"


@dataclass(frozen=True)
class PromotionResult:
    concert_id: int
    expired: int
    admitted: int
    abandoned: int = 0  # waiting fans pruned for not polling within abandon_after
    opened: int = 0  # pre-queue fans moved into the line (at the opening, once)


def _now_arg(now: float) -> str:
    return f"{now:.6f}"


def _admission_counts(*, admitted: int, abandoned: int) -> list[tuple[str, int]]:
    """What a script did, as the metrics count it (every script that admits or prunes reports it)."""
    return [(name, n) for name, n in (("queue_admissions", admitted), ("queue_abandoned", abandoned)) if n > 0]


def _admission_metrics_record(*, concert_id: int, admitted: int, abandoned: int) -> None:
    for name, n in _admission_counts(admitted=admitted, abandoned=abandoned):
        metric_incr(name, n, concert=concert_id)


async def _aadmission_metrics_record(*, concert_id: int, admitted: int, abandoned: int) -> None:
    """_admission_metrics_record on an event loop, in the loop's next batch of Redis calls: every
    leave of an admitted fan hands on a place, and a round trip of its own cost the loop about as
    much as the leave's other two calls together. A count Redis fails to take is logged, as
    metric_incr does; the fan's answer stands."""
    for name, n in _admission_counts(admitted=admitted, abandoned=abandoned):
        try:
            await redis_command_batched(*metric_incr_command(name, n, concert=concert_id))
        except ServiceUnavailable:  # the batch's answer to any Redis error, the command's own too
            logger.warning("metric %s not counted: Redis unavailable", name)


def _policy_args(policy: QueuePolicy) -> list[object]:
    """abandon_seconds and per_minute as the scripts take them (0 = unlimited)."""
    return [policy.abandon_seconds, policy.admissions_per_minute or 0]


def _paused_arg(policy: QueuePolicy) -> str:
    """The pause as the scripts seed it into Redis when their copy is missing (a restart)."""
    return "1" if policy.paused else "0"


def queue_prequeue_score() -> int:
    """A pre-queue entry's place in the opening shuffle: 52 random bits from the OS CSPRNG (exact
    as a Redis score). Sorting the pre-queue by it is a uniformly random order."""
    return secrets.randbits(52)


def queue_token_new(*, concert_id: int) -> str:
    return f"{concert_id}.{secrets.token_urlsafe(TOKEN_BYTES)}"


@dataclass(frozen=True)
class _EnterCall:
    """One entry prepared for the ENTER script: its keys and arguments, and what reads its answer."""

    concert_id: int
    max_waiting: int
    ts: float
    keys: list[str]
    args: list[object]


@storage_boundary
def queue_enter(*, user_id: int, concert_id: int, client_ip: str | None = None) -> QueueStatus:
    """Enter the concert's waiting room, or get back the token the user already holds there.

    No SQL query while the concert's policy is cached (concert_queue_policy_cached), and one
    script. Within prequeue_minutes before booking opens the user joins the pre-queue (status
    PREQUEUE, no position; placed in a random order at the opening). Once booking is open the
    user joins the line (first come, first served, behind the pre-queue) and is admitted at once
    when a place is free and nobody waits. `created` tells a new token from the same one.

    A request's entry passes the caller's `client_ip` (core.throttling.client_ip): the same
    script then counts the attempt against the per-user and per-address limits of this concert
    (queueing.enter_limits) and, past either, refuses without entering. Without `client_ip` (an
    internal caller: tests, drills) nothing is counted.
    Raises ConcertNotFound, BookingClosed (booking not open and the pre-queue not open either;
    with prequeue_opens_at when it opens later), RateLimited (with retry_after_seconds), QueueFull.
    """
    now = clock.now()
    policy = concert_queue_policy_cached(concert_id=concert_id, now=now)
    call = _enter_call(user_id=user_id, policy=policy, now=now, client_ip=client_ip)
    entered = EnterAnswer.from_script(run_script(queue_redis(), ENTER, call.keys, call.args))
    _admission_metrics_record(concert_id=concert_id, admitted=entered.admitted, abandoned=entered.pruned)
    return _enter_answer(call, entered)


@storage_boundary
def queue_enter_for_api_key(*, api_key: str, concert_id: int, client_ip: str | None = None) -> QueueStatus:
    """queue_enter for a caller known only by its API key (`Authorization: Token`).

    The key is resolved first (the Redis cache, SQL on a miss: accounts.authentication), and only
    a live key's user enters: a forged, revoked or expired key gets NotAuthenticated before the
    enter script runs, so it never takes anyone's place nor counts against anyone's rate limits.
    Raises NotAuthenticated and what queue_enter raises.
    """
    return queue_enter(user_id=api_key_caller_id(api_key), concert_id=concert_id, client_ip=client_ip)


async def aqueue_enter_for_api_key(*, api_key: str, concert_id: int, client_ip: str) -> QueueStatus:
    """queue_enter_for_api_key on an event loop (queueing.entering serves it from uvicorn): the
    same checks, script and answer, with Redis's asyncio client; SQL (an uncached key, the
    concert's policy every QUEUE_POLICY_CACHE_SECONDS) runs in a worker thread.
    Raises what queue_enter_for_api_key raises."""
    # The crowd enters within seconds: its Redis calls go in batches (aio.run_script_batched).
    user_id = await caller_id(api_key, batched=True)
    return await _aqueue_enter(user_id=user_id, concert_id=concert_id, client_ip=client_ip)


@dataclass(frozen=True)
class TicketEntry:
    """An entry with a concert page's ticket: the place, and the stream ticket the page follows it with."""

    place: QueueStatus
    stream_ticket: str


@storage_boundary
def queue_enter_with_entry_ticket(*, ticket: str, concert_id: int, client_ip: str | None = None) -> TicketEntry:
    """queue_enter for the fan a concert page's entry ticket names (queue_entry_ticket_issue).
    Raises EntryTicketInvalid (before the enter script runs) and what queue_enter raises."""
    user_id = queue_entry_ticket_caller(ticket=ticket, concert_id=concert_id)
    place = queue_enter(user_id=user_id, concert_id=concert_id, client_ip=client_ip)
    return TicketEntry(place, queue_stream_ticket_issue(user_id=user_id, token=place.token))


async def aqueue_enter_with_entry_ticket(*, ticket: str, concert_id: int, client_ip: str) -> TicketEntry:
    """queue_enter_with_entry_ticket on an event loop (queueing.entering): the concert page's
    button enters there, as the app's fans do with their key. Raises what it raises."""
    user_id = queue_entry_ticket_caller(ticket=ticket, concert_id=concert_id)
    place = await _aqueue_enter(user_id=user_id, concert_id=concert_id, client_ip=client_ip)
    return TicketEntry(place, queue_stream_ticket_issue(user_id=user_id, token=place.token))


async def _aqueue_enter(*, user_id: int, concert_id: int, client_ip: str) -> QueueStatus:
    now = clock.now()
    policy = await aconcert_queue_policy_cached(concert_id=concert_id, now=now)
    call = _enter_call(user_id=user_id, policy=policy, now=now, client_ip=client_ip)
    entered = EnterAnswer.from_script(await run_script_batched(ENTER, call.keys, call.args))
    await _aadmission_metrics_record(concert_id=concert_id, admitted=entered.admitted, abandoned=entered.pruned)
    return _enter_answer(call, entered)


def _enter_call(*, user_id: int, policy: QueuePolicy | None, now: datetime, client_ip: str | None) -> _EnterCall:
    """The concert checks (its policy as of `now`; None: no such concert on sale) and the ENTER
    script's arguments. Raises ConcertNotFound, BookingClosed."""
    if policy is None:
        raise ConcertNotFound()
    prequeue = policy.in_prequeue(now)
    if not policy.booking_open and not prequeue:
        opens = policy.prequeue_opens_at
        later = opens is not None and opens > now
        raise BookingClosed(prequeue_opens_at=timezone.localtime(opens).isoformat() if later else None)
    concert_id = policy.concert_id
    ts = now.timestamp()
    keys = concert_keys(concert_id)
    limits: list[object] = []
    for kind, ident in (("user", user_id), ("ip", client_ip)):
        window = enter_window(kind=kind, ident=ident, now=ts) if client_ip is not None else None
        keys.append(concert_key(concert_id, window.name if window else f"rate:{kind}"))
        limits += [window.limit, window.ends] if window else ["", ""]
    args = [
        user_id,
        queue_token_new(concert_id=concert_id),
        _now_arg(ts),
        policy.active_size,
        policy.session_seconds,
        policy.max_waiting,
        settings.QUEUE_RATE_WINDOW_SECONDS,
        *_policy_args(policy),
        _now_arg(policy.opens_at.timestamp()) if prequeue else "",
        queue_prequeue_score() if prequeue else 0,  # only a pre-queue entry uses it
        *limits,
        _paused_arg(policy),
        settings.QUEUE_OPENING_RAMP_PER_SECOND,
    ]
    return _EnterCall(concert_id=concert_id, max_waiting=policy.max_waiting, ts=ts, keys=keys, args=args)


def _enter_answer(call: _EnterCall, entered: EnterAnswer) -> QueueStatus:
    """The ENTER script's answer as a QueueStatus. Raises RateLimited, QueueFull."""
    if entered.rate_limited:
        raise RateLimited(retry_after_seconds=max(1, math.ceil(entered.rate_window_ends - call.ts)))
    if entered.full:
        raise QueueFull(retry_after_seconds=settings.QUEUE_FULL_RETRY_AFTER_SECONDS, max_waiting=call.max_waiting)
    return build_status(
        token=entered.token, concert_id=call.concert_id, place=entered.place, now=call.ts, created=entered.created
    )


def _leave(*, user_id: int, concert_id: int, token: str) -> tuple[bool, int]:
    left = LeaveAnswer.from_script(
        run_script(queue_redis(), LEAVE, concert_keys(concert_id), _leave_args(user_id=user_id, token=token))
    )
    _admission_metrics_record(concert_id=concert_id, admitted=left.admitted, abandoned=left.pruned)
    return left.removed, left.admitted


def _leave_args(*, user_id: int, token: str) -> list[object]:
    return [user_id, token, _now_arg(clock.timestamp()), settings.QUEUE_RATE_WINDOW_SECONDS]


def _leaving_token_concert_id(token: str | None) -> int:
    """The concert of the token a fan leaves with; TokenNotFound for a missing or malformed one."""
    concert_id = token_concert_id(token)
    if concert_id is None:
        raise TokenNotFound()
    return concert_id


@storage_boundary
def queue_leave(*, user_id: int, token: str | None) -> None:
    """The user leaves with their token (waiting or active); the freed place goes to the next in
    line at once. Raises TokenNotFound unless the token is the user's."""
    concert_id = _leaving_token_concert_id(token)
    removed, _ = _leave(user_id=user_id, concert_id=concert_id, token=token)
    if not removed:
        raise TokenNotFound()


async def aqueue_leave_for_api_key(*, api_key: str, token: str | None) -> None:
    """queue_leave for the API key's user on an event loop (queueing.entering serves it from
    uvicorn): the same check, script and answer, with Redis's asyncio client.
    Raises what queue_leave raises, and ApiKeyInvalid."""
    # Thousands leave when a show reads sold out: their Redis calls go in batches.
    user_id = await caller_id(api_key, batched=True)
    concert_id = _leaving_token_concert_id(token)
    keys = concert_keys(concert_id)
    left = LeaveAnswer.from_script(await run_script_batched(LEAVE, keys, _leave_args(user_id=user_id, token=token)))
    await _aadmission_metrics_record(concert_id=concert_id, admitted=left.admitted, abandoned=left.pruned)
    if not left.removed:
        raise TokenNotFound()


def _ticket_issue(values: list, *, salt: str, seconds: int) -> str:
    """`values` and an expiry `seconds` from now, signed with SECRET_KEY for the one use `salt` names."""
    return signing.dumps([*values, int(clock.timestamp()) + seconds], salt=salt)


def _ticket_values(ticket: str, *, salt: str, size: int, invalid: type[ApplicationError]) -> list:
    """The `size` values a live ticket of `salt`'s use carries. Raises `invalid` for a forged,
    malformed or expired ticket, or one signed for another use."""
    try:
        *values, expires_at = signing.loads(ticket, salt=salt)
    except (signing.BadSignature, ValueError, TypeError):  # forged, or not a ticket's payload
        raise invalid() from None
    if len(values) != size or expires_at <= clock.timestamp():
        raise invalid()
    return values


def queue_stream_ticket_issue(*, user_id: int, token: str) -> str:
    """A signed ticket that lets a browser's EventSource follow the user's queue `token` on the
    event loop (queueing.events), which runs no session machinery: the waiting page puts it in the
    stream's URL. Good for QUEUE_STREAM_TICKET_SECONDS; it tells only where the fan stands (and,
    as any status does, that the fan is still there), so it is not ended with the session."""
    return _ticket_issue([user_id, token], salt=_STREAM_TICKET_SALT, seconds=settings.QUEUE_STREAM_TICKET_SECONDS)


def queue_stream_ticket_caller(*, ticket: str) -> tuple[int, str]:
    """The user id and queue token a stream ticket was issued for.
    Raises StreamTicketInvalid for a forged, malformed or expired ticket."""
    user_id, token = _ticket_values(ticket, salt=_STREAM_TICKET_SALT, size=2, invalid=StreamTicketInvalid)
    return user_id, token


def queue_entry_ticket_issue(*, user_id: int, concert_id: int) -> str:
    """A signed ticket that lets the concert page's button enter the user into the concert's
    waiting room on the event loop (queueing.entering), which runs no session machinery, as the
    waiting page's stream ticket lets it follow the place. The page puts it in the entry's URL;
    being unguessable and readable only by the page, it also stands for the form's CSRF token.
    Good for QUEUE_ENTRY_TICKET_SECONDS (past it, the page's form enters with the session)."""
    return _ticket_issue([user_id, concert_id], salt=_ENTRY_TICKET_SALT, seconds=settings.QUEUE_ENTRY_TICKET_SECONDS)


def queue_entry_ticket_caller(*, ticket: str, concert_id: int) -> int:
    """The user id an entry ticket of this concert was issued for.
    Raises EntryTicketInvalid for a forged, malformed or expired ticket, or another concert's."""
    user_id, ticket_concert_id = _ticket_values(ticket, salt=_ENTRY_TICKET_SALT, size=2, invalid=EntryTicketInvalid)
    if ticket_concert_id != concert_id:
        raise EntryTicketInvalid()
    return user_id


@storage_boundary
def queue_remove(*, user_id: int, concert_id: int, reason: str) -> bool:
    """Take the user out of the concert's room (after payment, an unpaid hold's expiry, too many
    failed payments) and give the place to the next in line at once. Idempotent: False if the
    user held no token there."""
    removed, admitted = _leave(user_id=user_id, concert_id=concert_id, token="")
    if removed:
        logger.info("queue: removed user %s from concert %s (%s); admitted %s", user_id, concert_id, reason, admitted)
    return removed


@storage_boundary
def queue_extend_until(*, user_id: int, concert_id: int, until: datetime) -> bool:
    """Keep the user's session open at least until `until` (a hold's end): the session end becomes
    max(current end, until). Only a session still active is extended; returns whether it was."""
    ends = run_script(
        queue_redis(),
        EXTEND,
        concert_keys(concert_id),
        [user_id, _now_arg(until.timestamp()), _now_arg(clock.timestamp())],
    )
    return ends is not None


@storage_boundary
def queue_promote(
    *,
    concert_id: int,
    policy: QueuePolicy | None = None,
    active_size: int | None = None,
    session_minutes: int | None = None,
) -> PromotionResult:
    """One promotion step of a concert whose booking is open, in one script: the pre-queue joins
    the line in its random order (once: the first step after the opening), ended sessions are
    dropped, waiting fans silent for longer than abandon_after are pruned, and the longest-waiting
    are admitted into the free places, within the per-minute admission cap and the opening ramp
    (QUEUE_OPENING_RAMP_PER_SECOND). Any number of promoters at once never admit past the active
    size or the cap, nor anyone twice, and shuffle the pre-queue once. The policy is read from the
    concert (one query) unless given: promote_all passes it; a caller passing only active_size and
    session_minutes (no SQL) keeps the other policy values last stored in Redis and vouches that
    booking is open."""
    if policy is None and (active_size is None or session_minutes is None):
        policy = concert_queue_policy(concert_id=concert_id, now=clock.now())
        if policy is None:
            raise ConcertNotFound()
    if policy is not None:
        active_size = policy.active_size if active_size is None else active_size
        session_minutes = policy.session_minutes if session_minutes is None else session_minutes
    answer = run_script(
        queue_redis(),
        PROMOTE,
        concert_keys(concert_id),
        [
            _now_arg(clock.timestamp()),
            active_size,
            session_minutes * 60,
            settings.QUEUE_RATE_WINDOW_SECONDS,
            *(_policy_args(policy) if policy is not None else ["", ""]),
            "1" if policy is None or policy.booking_open else "0",
            _paused_arg(policy) if policy is not None else "",
            settings.QUEUE_OPENING_RAMP_PER_SECOND,
        ],
    )
    promoted = PromoteAnswer.from_script(answer)
    _admission_metrics_record(concert_id=concert_id, admitted=promoted.admitted, abandoned=promoted.pruned)
    if promoted.opened:
        logger.info("queue: concert %s opened, %s pre-queue fans placed in a random order", concert_id, promoted.opened)
    return PromotionResult(
        concert_id=concert_id,
        expired=promoted.expired,
        admitted=promoted.admitted,
        abandoned=promoted.pruned,
        opened=promoted.opened,
    )


def queue_promote_all() -> list[PromotionResult]:
    """One promotion per concert on sale (one SQL query, then one script per concert)."""
    return [queue_promote(concert_id=policy.concert_id, policy=policy) for policy in concerts_on_sale(now=clock.now())]


@storage_boundary
def queue_set_paused(*, concert_id: int, paused: bool) -> None:
    """Pause or resume admission (the line still forms; nobody is admitted while paused).

    PostgreSQL keeps the pause (Concert.queue_paused), so that it outlives a Redis restart: the
    scripts seed Redis's copy from it when that is missing. The row is written first, then
    Redis; if Redis fails the call raises ServiceUnavailable and is safe to repeat.
    Raises ConcertNotFound."""
    if not Concert.objects.filter(pk=concert_id).update(queue_paused=paused):
        raise ConcertNotFound()
    concert_queue_policy_cache_clear(concert_id=concert_id)
    queue_redis().hset(concert_keys(concert_id)[4], "paused", "1" if paused else "0")


@storage_boundary
def queue_flush(*, concert_id: int) -> None:
    """Empty the concert's room: every token (waiting and active) is gone. The pause flag and the
    arrival counter stay. One DEL of keys in one slot, so it is atomic."""
    waiting, active, tokens, users, _meta, admits, prequeue, seen, abandons = concert_keys(concert_id)
    queue_redis().delete(waiting, active, tokens, users, admits, prequeue, seen, abandons)


def queue_require_active(
    *, user_id: int, concert_id: int, token: str | None, caller: CallerInRoom | None = None
) -> QueueStatus:
    """The booking guard's check: the token is the user's, of this concert, and ACTIVE.

    Raises QueueNotActive with the token's status (PREQUEUE, WAITING) and position (both null when the token is
    missing, not of this concert, not the user's or ended). One Redis round trip, or none when
    `caller` (queue_caller_in_room, read with the caller's API key by
    queueing.authentication) already tells where this user's token stands.
    """
    if token_concert_id(token) != concert_id:
        raise QueueNotActive(status=None, position=None)
    if caller is not None and caller.user_id == user_id and caller.token == token:
        current = caller.status
    else:
        try:
            current = queue_status(user_id=user_id, token=token)
        except TokenNotFound:
            current = None
    if current is None:
        raise QueueNotActive(status=None, position=None)
    if current.status is not QueueTokenStatus.ACTIVE:
        raise QueueNotActive(status=current.status.value, position=current.position)
    return current


def queue_require_active_or_live_hold(
    *, user_id: int, concert_id: int, token: str | None, live_hold: bool, caller: CallerInRoom | None = None
) -> None:
    """The payment guard: queue_require_active, except that a live hold of the user's (read from
    PostgreSQL by the caller) is proof of admission when the queue does not show the user ACTIVE.

    Only an admitted fan can hold seats, and a live hold keeps the admission open (the session is
    extended to the hold's end), so a live hold whose fan the queue does not know as ACTIVE means
    the queue lost the admission: Redis restarted empty, or the room was flushed. The fan pays the
    hold instead of queueing again behind everyone and losing it. Redis unreachable still raises
    ServiceUnavailable (the queue is asked first). Raises QueueNotActive without a live hold."""
    try:
        queue_require_active(user_id=user_id, concert_id=concert_id, token=token, caller=caller)
    except QueueNotActive:
        if not live_hold:
            raise
        logger.info("queue: user %s pays a live hold of concert %s the queue does not know", user_id, concert_id)

"""The waiting room's Redis data and the Lua scripts that change it.

Per concert, every key carries the concert's Redis Cluster hash tag (`{c42}`), so each script
touches one slot and runs unchanged on Redis Cluster (REDIS_CLUSTER_URL, core.redis.queue_redis);
the scripts' `#!lua` flag line makes the cluster refuse one that strays into another slot:

    <prefix>:queue:{c42}:waiting   ZSET token -> arrival number (from meta.seq): the line, FIFO
    <prefix>:queue:{c42}:active    ZSET token -> epoch second the admitted session ends
    <prefix>:queue:{c42}:tokens    HASH token -> user id
    <prefix>:queue:{c42}:users     HASH user id -> token (one token per user per concert)
    <prefix>:queue:{c42}:meta      HASH seq (arrival counter), paused ("1" or "0": a copy of
                                   Concert.queue_paused, seeded from it when missing), the policy last passed
                                   in by enter or promote (active_size, session_seconds,
                                   abandon_seconds, per_minute, ramp_per_second; 0 = unlimited), so
                                   leave/remove can fill a freed place without SQL; opens_at (epoch
                                   second booking opens, set by a pre-queue entry, read by the
                                   poll), opened (epoch second of the last opening: the pre-queue
                                   was moved) and ramp_from (epoch second an empty active set
                                   began to fill: the opening ramp)
    <prefix>:queue:{c42}:admits    ZSET token -> epoch second of admission, trimmed to the rate
                                   window (at least a minute): the admission rate actually observed
                                   and the per-minute admission cap
    <prefix>:queue:{c42}:prequeue  ZSET token -> random score (from `secrets`, drawn in Python at
                                   entry): fans who entered before booking opened
    <prefix>:queue:{c42}:seen      ZSET token -> epoch second of the fan's last poll or entry
                                   (waiting and pre-queue tokens only)
    <prefix>:queue:{c42}:abandons  ZSET token -> epoch second it was pruned, trimmed to the window
    <prefix>:queue:{c42}:meta:admitted
                                   a pub/sub channel, not a key: every admitted token is published
                                   on it (queueing.events wakes that fan's stream at once); a
                                   cluster broadcasts a PUBLISH to every node, so a subscriber on
                                   any node hears it
    <prefix>:queue:{c42}:rate:<user|ip>:<user id|address>:<window number>
                                   STRING entry attempts in that fixed window (the enter rate
                                   limits, queueing.enter_limits), expiring after the window

Opening (`open_prequeue`, run by the promote and the enter script once booking is open): the whole
pre-queue moves, in its random score order, to the head of the line as it stands (new arrival
numbers), and `meta.opened` is set. One script, and the pre-queue is empty afterwards, so running it
twice or from two beat processes at once shuffles once and loses nobody; an entry that still asks
for the pre-queue after the opening (`opened >= opens_at`) goes to the line instead.

The opening ramp (`places`): when fans are let into an empty active set (a sale's opening, a
resumed room whose sessions have all ended, a Redis that lost its data), its places open
`ramp_per_second` at a time, one step a second, instead of all at once: the first hundred fans
would otherwise all hold within the same two seconds. Once the active size is reached, a freed
place is handed on at once as before.

Abandoned places (`prune`): a waiting token whose `seen` is older than abandon_seconds is dropped
(counted in `abandons`); the poll script refreshes `seen` in its one call.

Every multi-step change is one script, so it is atomic across any number of web instances,
workers and beat processes. Time is never read inside Redis: callers pass `now` (from
`core.clock`) as an argument, so tests inject it. Scripts are called by SHA (EVALSHA) and loaded
on a NOSCRIPT answer (`run_script`, `execute_pipeline`; on a cluster SCRIPT LOAD goes to every
master, and a replica promoted by a failover answers NOSCRIPT until then).
"""

import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError

from core.redis import redis_key, redis_text

logger = logging.getLogger(__name__)

KEY_NAMES = ("waiting", "active", "tokens", "users", "meta", "admits", "prequeue", "seen", "abandons")
# "Admissions per minute" counts admissions within this many seconds.
ADMISSION_CAP_WINDOW_SECONDS = 60


def concert_tag(concert_id: int) -> str:
    return f"{{c{concert_id}}}"


def admitted_channel_pattern() -> str:
    """The pub/sub channels the admissions of every concert are published on (see above)."""
    return redis_key("queue", "*", "meta", "admitted")


def concert_key(concert_id: int, name: str) -> str:
    """Another key under the concert's tag (e.g. an enter rate counter)."""
    return redis_key("queue", concert_tag(concert_id), name)


def concert_keys(concert_id: int) -> list[str]:
    """The concert's keys in the order every script takes them (KEYS[1..9], as KEY_NAMES)."""
    return list(_concert_keys(settings.REDIS_KEY_PREFIX, concert_id))


@functools.lru_cache(maxsize=4096)
def _concert_keys(prefix: str, concert_id: int) -> tuple[str, ...]:
    # The prefix is part of the cache key: tests and the benchmark switch it at run time.
    tag = concert_tag(concert_id)
    return tuple(redis_key("queue", tag, name) for name in KEY_NAMES)


# Shared by every script: key names and the few steps they compose. The `#!lua` first line
# (Redis 7 script flags, none set: the script may write) makes a Redis Cluster node refuse a script
# that touches a key of another slot than its KEYS' ("Script attempted to access keys that do not
# hash to the same slot"); a script without it may, for compatibility, touch any key of its node.
# KEYS of two slots are refused before the script runs (CROSSSLOT) either way.
_PRELUDE = (
    """#!lua
local waiting, active, tokens, users, meta, admits = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local prequeue, seen, abandons = KEYS[7], KEYS[8], KEYS[9]
local CAP_WINDOW = """
    + str(ADMISSION_CAP_WINDOW_SECONDS)
    + """

-- An exclusive score bound, to the microsecond (Lua's own number formatting keeps 14 digits).
local function after(x) return '(' .. string.format('%.6f', x) end

-- Forget a token everywhere (line, pre-queue, active set, mappings). True if it was known.
local function drop(token)
  redis.call('ZREM', waiting, token)
  redis.call('ZREM', active, token)
  redis.call('ZREM', prequeue, token)
  redis.call('ZREM', seen, token)
  local uid = redis.call('HGET', tokens, token)
  if not uid then return false end
  redis.call('HDEL', tokens, token)
  if redis.call('HGET', users, uid) == token then redis.call('HDEL', users, uid) end
  return true
end

-- Drop admitted sessions that have ended (score <= now). Returns how many.
local function expire(now)
  local ended = redis.call('ZRANGEBYSCORE', active, '-inf', now)
  for _, token in ipairs(ended) do drop(token) end
  return #ended
end

-- Keep the policy the caller read from the concert (leave and remove fill places without SQL);
-- an empty value keeps the one stored. The pause ('1' or '0', Concert.queue_paused) is only
-- seeded when Redis has none (after a restart or flush of its data): pause and resume write it
-- themselves, and a caller's copy of the concert may be a moment old.
local function set_policy(active_size, session_seconds, abandon_seconds, per_minute, paused, ramp_per_second)
  local names = {'active_size', 'session_seconds', 'abandon_seconds', 'per_minute', 'ramp_per_second'}
  local values = {active_size, session_seconds, abandon_seconds, per_minute, ramp_per_second or ''}
  for i = 1, #names do
    if values[i] ~= '' then redis.call('HSET', meta, names[i], values[i]) end
  end
  if paused and paused ~= '' then redis.call('HSETNX', meta, 'paused', paused) end
end

-- Booking is open: the whole pre-queue joins the line at once, in its random score order, ahead
-- of anyone who arrives later. Atomic and the pre-queue is emptied, so a second run moves nobody.
local function open_prequeue(now)
  redis.call('HSET', meta, 'opened', now)
  local n = redis.call('ZCARD', prequeue)
  if n == 0 then return 0 end
  local members = redis.call('ZRANGE', prequeue, 0, -1)
  local seq = redis.call('HINCRBY', meta, 'seq', n) - n
  local batch = {}
  for i, token in ipairs(members) do
    batch[#batch + 1] = seq + i
    batch[#batch + 1] = token
    if #batch >= 1000 then
      redis.call('ZADD', waiting, unpack(batch))
      batch = {}
    end
  end
  if #batch > 0 then redis.call('ZADD', waiting, unpack(batch)) end
  redis.call('DEL', prequeue)
  return n
end

-- Drop waiting tokens not seen (polled) for longer than abandon_seconds. Returns how many.
local function prune(now, window)
  redis.call('ZREMRANGEBYSCORE', abandons, '-inf', after(now - window))
  local limit = tonumber(redis.call('HGET', meta, 'abandon_seconds') or '0') or 0
  if limit <= 0 then return 0 end
  local stale = redis.call('ZRANGEBYSCORE', seen, '-inf', after(now - limit))
  local pruned = 0
  for _, token in ipairs(stale) do
    if redis.call('ZSCORE', waiting, token) then
      drop(token)
      redis.call('ZADD', abandons, now, token)
      pruned = pruned + 1
    elseif not redis.call('ZSCORE', prequeue, token) then
      redis.call('ZREM', seen, token)
    end
  end
  return pruned
end

-- How many places are open now: the active size, or during the opening ramp ramp_per_second
-- more each second since an empty active set began to fill (a new ramp starts then; `from` is
-- meta.ramp_from, read by the caller with the policy).
local function places(now, size, active_count, ramp_per_second, from)
  if ramp_per_second <= 0 or ramp_per_second >= size then return size end
  local ramping = from and now >= from and now - from < size / ramp_per_second
  if active_count == 0 and not ramping then
    from, ramping = now, true
    redis.call('HSET', meta, 'ramp_from', now)
  end
  if not ramping then return size end
  return math.min(size, ramp_per_second * (1 + math.floor(now - from)))
end

-- Admit the longest-waiting users into the free places, unless admission is paused, at most
-- per_minute admissions within CAP_WINDOW seconds (when per_minute > 0), and within the opening
-- ramp's places.
local function fill(now, window)
  redis.call('ZREMRANGEBYSCORE', admits, '-inf', after(now - math.max(window, CAP_WINDOW)))
  local policy = redis.call(
    'HMGET', meta, 'paused', 'active_size', 'session_seconds', 'per_minute', 'ramp_per_second', 'ramp_from')
  if policy[1] == '1' or not policy[2] then return 0 end
  local active_count = redis.call('ZCARD', active)
  local ramp_per_second, ramp_from = tonumber(policy[5] or '0') or 0, tonumber(policy[6] or '')
  local free = places(now, tonumber(policy[2]), active_count, ramp_per_second, ramp_from) - active_count
  local per_minute = tonumber(policy[4] or '0') or 0
  if per_minute > 0 then
    free = math.min(free, per_minute - redis.call('ZCOUNT', admits, after(now - CAP_WINDOW), '+inf'))
  end
  if free <= 0 then return 0 end
  local ends = now + tonumber(policy[3])
  local popped = redis.call('ZPOPMIN', waiting, free)
  for i = 1, #popped, 2 do
    redis.call('ZADD', active, ends, popped[i])
    redis.call('ZADD', admits, now, popped[i])
    redis.call('ZREM', seen, popped[i])
    -- Tell the fan's event stream at once (queueing.events), if it has one open.
    redis.call('PUBLISH', meta .. ':admitted', popped[i])
  end
  return #popped / 2
end

-- Where a token stands: {'WAITING', rank}, {'ACTIVE', ends (string)} or {'PREQUEUE', opens_at
-- (string)}; false if gone or ended.
local function report(token, now)
  local rank = redis.call('ZRANK', waiting, token)
  if rank then return {'WAITING', rank} end
  local ends = redis.call('ZSCORE', active, token)
  if ends and tonumber(ends) > now then return {'ACTIVE', ends} end
  if redis.call('ZSCORE', prequeue, token) then
    return {'PREQUEUE', redis.call('HGET', meta, 'opens_at') or '0'}
  end
  return false
end

-- What a wait estimate needs: admissions seen in the window and the policy; and how many wait in
-- all (a waiting fan is told how many are behind).
local function estimate_inputs(now, window)
  local recent = redis.call('ZCOUNT', admits, after(now - window), '+inf')
  local policy = redis.call('HMGET', meta, 'active_size', 'session_seconds')
  return {recent, policy[1] or '0', policy[2] or '0', redis.call('ZCARD', waiting)}
end
"""
)

# KEYS: the concert's nine, then the per-user and the per-address entry counters of the current
#       fixed windows (under the concert's tag: queueing.enter_limits)
# ARGV: user_id, new_token, now, active_size, session_seconds, max_waiting, window,
#       abandon_seconds, per_minute (0 = unlimited), opens_at ('' = booking is open, else the epoch
#       second it opens: a new token joins the pre-queue), prequeue_score (random, from `secrets`),
#       user limit, user window end, address limit, address window end (a limit '' = not counted),
#       paused ('1' or '0': seeds meta.paused when missing), ramp_per_second (0 = no opening ramp)
# -> {'RATE', end of the latest window over its limit} (the room untouched), {'FULL', admitted,
#    pruned} or
#    {created 0|1, token, status, rank|ends|opens_at, recent, active_size, session_seconds, admitted, pruned,
#     waiting}
_ENTER = """
local over = nil
for i = 0, 1 do
  local limit = tonumber(ARGV[12 + 2 * i])
  if limit then
    local counter, ends = KEYS[10 + i], tonumber(ARGV[13 + 2 * i])
    local count = redis.call('INCR', counter)
    if count == 1 then redis.call('EXPIREAT', counter, ends + 1) end
    if count > limit and (not over or ends > over) then over = ends end
  end
end
if over then return {'RATE', over} end
local uid, new_token = ARGV[1], ARGV[2]
local now, max_waiting, window = tonumber(ARGV[3]), tonumber(ARGV[6]), tonumber(ARGV[7])
local opens_at = tonumber(ARGV[10])
set_policy(ARGV[4], ARGV[5], ARGV[8], ARGV[9], ARGV[16], ARGV[17])
if opens_at and (tonumber(redis.call('HGET', meta, 'opened') or '') or -1) >= opens_at then
  opens_at = nil -- this opening has happened (the pre-queue moved): join the line
end
expire(now)
local admitted, pruned = 0, 0
if opens_at then
  redis.call('HSET', meta, 'opens_at', ARGV[10])
else
  open_prequeue(now)
  pruned = prune(now, window)
  admitted = fill(now, window)
end
local created = 0
local token = redis.call('HGET', users, uid)
local place = token and report(token, now)
if not place then
  if token then drop(token) end
  if redis.call('ZCARD', waiting) + redis.call('ZCARD', prequeue) >= max_waiting then
    return {'FULL', admitted, pruned}
  end
  token = new_token
  created = 1
  redis.call('HSET', tokens, token, uid)
  redis.call('HSET', users, uid, token)
  if opens_at then
    redis.call('ZADD', prequeue, ARGV[11], token)
  else
    redis.call('ZADD', waiting, redis.call('HINCRBY', meta, 'seq', 1), token)
    admitted = admitted + fill(now, window)
  end
  place = report(token, now)
end
if place[1] ~= 'ACTIVE' then redis.call('ZADD', seen, now, token) end
local estimate = estimate_inputs(now, window)
return {created, token, place[1], place[2], estimate[1], estimate[2], estimate[3], admitted, pruned, estimate[4]}
"""

# ARGV: token, now, window -> {} if unknown or ended, else
# {user_id, status, rank|ends|opens_at, recent, active_size, session_seconds, waiting}.
# A waiting or pre-queue token is marked as seen now (the fan is still there).
_POLL = """
local token, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local uid = redis.call('HGET', tokens, token)
if not uid then return {} end
local place = report(token, now)
if not place then return {} end
if place[1] ~= 'ACTIVE' then redis.call('ZADD', seen, now, token) end
local estimate = estimate_inputs(now, window)
return {uid, place[1], place[2], estimate[1], estimate[2], estimate[3], estimate[4]}
"""

# ARGV: user_id, token ('' = the user's token), now, window -> {removed 0|1, admitted, pruned}
# Leaves (or removes) the user and gives the freed place to the next in line at once.
_LEAVE = """
local uid, token, now, window = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if token == '' then token = redis.call('HGET', users, uid) end
local removed = 0
if token and redis.call('HGET', tokens, token) == uid then
  drop(token)
  removed = 1
end
expire(now)
local pruned = prune(now, window)
return {removed, fill(now, window), pruned}
"""

# ARGV: now, active_size, session_seconds, window, abandon_seconds, per_minute, booking open ('1' or '0'),
#       paused ('1', '0' or '': seeds meta.paused when missing), ramp_per_second ('': keep the stored one)
# -> {expired, admitted, pruned, moved from the pre-queue (only when booking is open)}
_PROMOTE = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[4])
set_policy(ARGV[2], ARGV[3], ARGV[5], ARGV[6], ARGV[8], ARGV[9])
local expired = expire(now)
local moved = 0
if ARGV[7] == '1' then moved = open_prequeue(now) end
local pruned = prune(now, window)
return {expired, fill(now, window), pruned, moved}
"""

# ARGV: user_id, until, now -> ends (string) if the user is still active, else false.
# Sets the session end to max(current end, until).
_EXTEND = """
local uid, keep_until, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local token = redis.call('HGET', users, uid)
if not token then return false end
local ends = redis.call('ZSCORE', active, token)
if not ends or tonumber(ends) <= now then return false end
if keep_until > tonumber(ends) then
  redis.call('ZADD', active, 'XX', keep_until, token)
  return ARGV[2]
end
return ends
"""


@dataclass(frozen=True)
class Script:
    name: str
    source: str

    @property
    def sha(self) -> str:
        return _SHAS[self.name]


ENTER = Script("enter", _PRELUDE + _ENTER)
POLL = Script("poll", _PRELUDE + _POLL)
LEAVE = Script("leave", _PRELUDE + _LEAVE)
PROMOTE = Script("promote", _PRELUDE + _PROMOTE)
EXTEND = Script("extend", _PRELUDE + _EXTEND)
SCRIPTS = (ENTER, POLL, LEAVE, PROMOTE, EXTEND)
_SHAS = {script.name: hashlib.sha1(script.source.encode()).hexdigest() for script in SCRIPTS}


# The scripts' answers, read by name. Each `from_script` takes the list a script returns, as Redis
# gives it (bytes or text, as the client decodes), in the order the script's comment above shows.


class TokenPlace(NamedTuple):
    """Where a token stands and what its wait estimate needs (ENTER and POLL: `report`, then
    `estimate_inputs`)."""

    status: str  # PREQUEUE, WAITING or ACTIVE
    spot: float  # WAITING: rank (0 = next in line); ACTIVE: session end; PREQUEUE: booking opening (epoch s)
    admitted_recently: int  # admissions within the rate window
    active_size: int
    session_seconds: int
    waiting: int  # fans in line in all

    @classmethod
    def from_script(cls, answer: Sequence) -> "TokenPlace":
        status, spot, recent, active_size, session_seconds, waiting = answer
        return cls(redis_text(status), float(spot), int(recent), int(active_size), int(session_seconds), int(waiting))


class EnterAnswer(NamedTuple):
    """The ENTER script's answer: refused (`rate_limited`, `full`) or the user's token and place."""

    rate_limited: bool = False
    rate_window_ends: int = 0  # rate_limited: the end (epoch s) of the latest window over its limit
    full: bool = False
    created: bool = False  # a new token, not the one the user already held
    token: str = ""
    place: TokenPlace | None = None
    admitted: int = 0  # fans the script admitted (full or not)
    pruned: int = 0  # waiting fans it dropped for not polling (full or not)

    @classmethod
    def from_script(cls, answer: Sequence) -> "EnterAnswer":
        verdict = answer[0]
        if verdict in (b"RATE", "RATE"):
            _, window_ends = answer
            return cls(rate_limited=True, rate_window_ends=int(window_ends))
        if verdict in (b"FULL", "FULL"):
            _, admitted, pruned = answer
            return cls(full=True, admitted=admitted, pruned=pruned)
        created, token, status, spot, recent, active_size, session_seconds, admitted, pruned, waiting = answer
        return cls(
            created=bool(created),
            token=redis_text(token),
            place=TokenPlace.from_script((status, spot, recent, active_size, session_seconds, waiting)),
            admitted=admitted,
            pruned=pruned,
        )


class PollAnswer(NamedTuple):
    """The POLL script's answer: the token's user and place, or None for both when the token is
    unknown or ended."""

    user_id: int | None
    place: TokenPlace | None

    @classmethod
    def from_script(cls, answer: Sequence) -> "PollAnswer":
        if not answer:
            return cls(None, None)
        return cls(int(answer[0]), TokenPlace.from_script(answer[1:]))


class LeaveAnswer(NamedTuple):
    """The LEAVE script's answer."""

    removed: bool  # the token was the user's and is gone
    admitted: int
    pruned: int

    @classmethod
    def from_script(cls, answer: Sequence) -> "LeaveAnswer":
        removed, admitted, pruned = answer
        return cls(bool(removed), admitted, pruned)


class PromoteAnswer(NamedTuple):
    """The PROMOTE script's answer."""

    expired: int  # ended sessions dropped
    admitted: int
    pruned: int
    opened: int  # pre-queue fans moved into the line (at the opening, once)

    @classmethod
    def from_script(cls, answer: Sequence) -> "PromoteAnswer":
        return cls(*answer)


def load_scripts(client: Redis) -> None:
    """SCRIPT LOAD every script (after a Redis restart or SCRIPT FLUSH). Idempotent."""
    for script in SCRIPTS:
        client.script_load(script.source)


def run_script(client: Redis, script: Script, keys: Sequence[str], args: Sequence[object]):
    """EVALSHA, loading the scripts once if Redis answers NOSCRIPT."""
    try:
        return client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        load_scripts(client)
        return client.evalsha(script.sha, len(keys), *keys, *args)


def execute_pipeline(client: Redis, build) -> list:
    """Run `build(pipe)` (which queues commands, EVALSHA included) in one round trip.

    redis-py's own Script objects make a pipeline ask SCRIPT EXISTS first (a second round trip);
    here the EVALSHA goes out as is and, only if Redis answers NOSCRIPT, the scripts are loaded
    and the pipeline is sent again (every script used this way must be safe to repeat).
    """
    pipe: Pipeline = client.pipeline(transaction=False)
    build(pipe)
    results = pipe.execute(raise_on_error=False)
    if any(isinstance(result, NoScriptError) for result in results):
        load_scripts(client)
        pipe = client.pipeline(transaction=False)
        build(pipe)
        results = pipe.execute(raise_on_error=False)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results

"""A burst of fans from real threads against running web instances, and a sampler of the waiting
room in Redis: the traffic of the multi-instance drill and the fault drills.

Each fan (one thread at a time from a bounded pool) enters the queue, polls until ACTIVE, reads
the seat map, holds 1-2 seats and pays, spreading its calls over every web instance (enter on one,
pay on the other). Connection errors, 5xx and 503 answers are retried a bounded number of times;
payments are retried with the same Idempotency-Key, so a retry never pays twice. A fan whose token
is gone (404: Redis lost the queue) enters again. Every loop is bounded in count and time.

Nothing here imports Django: the drills run it from pytest and from plain scripts alike.
"""

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

API = "/api/v1"


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    data: dict
    headers: dict
    at: float

    @property
    def code(self) -> str:
        if self.status == 0:
            return "CONNECTION_ERROR"
        return str(self.data.get("code", "")) if isinstance(self.data, dict) else ""


def call(
    base: str,
    method: str,
    path: str,
    *,
    api_key: str,
    queue_token: str | None = None,
    body=None,
    headers=None,
    timeout: float = 15,
) -> Answer:
    """One API call (path under /api/v1) as the fan with this API key."""
    hdrs = {"Authorization": f"Token {api_key}", "Accept": "application/json"} if api_key else {}
    if queue_token:
        hdrs["X-Queue-Token"] = queue_token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    return http(method, base + API + path, data=data, headers=hdrs, timeout=timeout)


def http(method: str, url: str, *, data: bytes | None = None, headers=None, timeout: float = 15) -> Answer:
    """One HTTP request; the JSON answer parsed (a non-JSON body is kept, cut, under `_raw`)."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    at = time.time()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            raw, status, resp_headers = resp.read(), resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        raw, status, resp_headers = exc.read(), exc.code, dict(exc.headers)
    except (urllib.error.URLError, OSError, TimeoutError):
        return Answer(0, {}, {}, at)
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"_raw": raw[:200].decode(errors="replace")}
    return Answer(status, parsed if isinstance(parsed, dict) else {"results": parsed}, resp_headers, at)


@dataclass
class Fan:
    user_id: int
    api_key: str


@dataclass
class BurstResult:
    answers: Counter = field(default_factory=Counter)  # "name status CODE" -> n
    timeline: list = field(default_factory=list)  # (time, name, status, code)
    tokens: dict = field(default_factory=dict)  # user id -> set of tokens received
    outcomes: Counter = field(default_factory=Counter)
    paid: list = field(default_factory=list)  # (user id, reservation id)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, answer: Answer) -> None:
        with self.lock:
            self.answers[f"{name} {answer.status} {answer.code}".strip()] += 1
            self.timeline.append((answer.at, name, answer.status, answer.code))

    def server_errors(self) -> int:
        return sum(n for key, n in self.answers.items() if key.split()[1].startswith("5") and "503" not in key)

    def count(self, status: str) -> int:
        return sum(n for key, n in self.answers.items() if key.split()[1] == status)


class Burst:
    def __init__(
        self,
        *,
        bases: list[str],
        concert_id: int,
        show_id: int,
        fans: list[Fan],
        pin: str,
        max_seconds: float = 60,
        poll_seconds: float = 0.2,
        wrong_pin_share: float = 0.15,
        refund_share: float = 0.1,
        seed: int = 3,
    ) -> None:
        self.bases = bases
        self.concert_id = concert_id
        self.show_id = show_id
        self.fans = fans
        self.pin = pin
        self.deadline = time.monotonic() + max_seconds
        self.poll_seconds = poll_seconds
        self.wrong_pin_share = wrong_pin_share
        self.refund_share = refund_share
        self.seed = seed
        self.result = BurstResult()
        self.entered = threading.Event()
        self._entered_count = 0

    def run(self, *, threads: int = 30) -> BurstResult:
        with ThreadPoolExecutor(max_workers=min(threads, len(self.fans), 40)) as pool:
            list(pool.map(self._fan, range(len(self.fans))))
        return self.result

    # -- one fan ------------------------------------------------------------------------------
    def _fan(self, index: int) -> None:
        fan = self.fans[index]
        rng = random.Random(self.seed * 100_003 + index)
        try:
            outcome = self._journey(index, fan, rng)
        except Exception as exc:  # noqa: BLE001 - recorded, the drill reports it
            outcome = f"crashed: {type(exc).__name__}: {exc}"
        with self.result.lock:
            self.result.outcomes[outcome] += 1

    def _base(self, index: int, step: int) -> str:
        return self.bases[(index + step) % len(self.bases)]

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _do(self, index: int, step: int, name: str, method: str, path: str, fan: Fan, token=None, **kw) -> Answer:
        answer = call(self._base(index, step), method, path, api_key=fan.api_key, queue_token=token, **kw)
        self.result.record(name, answer)
        return answer

    def _enter(self, index: int, fan: Fan) -> str | None:
        for attempt in range(20):
            if self._left() <= 0:
                return None
            answer = self._do(index, attempt, "enter", "POST", f"/concerts/{self.concert_id}/queue-tokens", fan)
            if answer.status in (200, 201):
                with self.result.lock:
                    self.result.tokens.setdefault(fan.user_id, set()).add(answer.data["token"])
                return answer.data["token"]
            time.sleep(0.3 + 0.2 * attempt)
        return None

    def _journey(self, index: int, fan: Fan, rng: random.Random) -> str:
        token = self._enter(index, fan)
        with self.result.lock:
            self._entered_count += 1
            if self._entered_count == len(self.fans):
                self.entered.set()
        if token is None:
            return "enter_failed"
        step = 0
        for _ in range(2000):  # poll until ACTIVE
            if self._left() <= 0:
                return "timed_out_waiting"
            step += 1
            answer = self._do(index, step, "poll", "GET", "/queue-tokens/current", fan, token)
            if answer.status == 200 and answer.data.get("status") == "ACTIVE":
                break
            if answer.status == 404:  # the queue lost the token (Redis restarted): enter again
                token = self._enter(index, fan)
                if token is None:
                    return "enter_failed"
                continue
            time.sleep(self.poll_seconds if answer.status == 200 else 0.5)
        else:
            return "poll_limit"

        reservation = None
        for attempt in range(8):
            if self._left() <= 0:
                return "timed_out_holding"
            seats = self._do(index, step + attempt, "seats", "GET", f"/shows/{self.show_id}/seats", fan, token)
            if seats.status == 403:  # not ACTIVE any more (session or queue lost): start again
                return self._journey_again(index, fan, rng)
            if seats.status != 200:
                time.sleep(0.3)
                continue
            free = [s["id"] for s in seats.data["results"] if s["status"] == "AVAILABLE"]
            if not free:
                self._do(index, step, "leave", "DELETE", "/queue-tokens/current", fan, token)
                return "sold_out"
            pick = rng.sample(free, min(len(free), rng.choice([1, 1, 2])))
            hold = self._do(
                index, step + attempt + 1, "hold", "POST", "/reservations", fan, token,
                body={"show_id": self.show_id, "seat_ids": pick},
            )  # fmt: skip
            if hold.status == 201:
                reservation = hold.data["id"]
                break
            if hold.status == 403:
                return self._journey_again(index, fan, rng)
            time.sleep(0.1 if hold.status == 409 else 0.4)
        if reservation is None:
            return "no_hold"

        wrong = 1 if rng.random() < self.wrong_pin_share else 0
        for attempt in range(10):
            if self._left() <= 0:
                return "timed_out_paying"
            pin = "000000" if wrong else self.pin
            key = {"Idempotency-Key": uuid.uuid4().hex}
            for retry in range(6):  # the same key on no answer, 5xx or 503
                pay = self._do(
                    index, step + attempt + retry, "pay", "POST", f"/reservations/{reservation}/payment", fan, token,
                    body={"pin": pin}, headers=key,
                )  # fmt: skip
                if pay.status not in (0, 500, 502, 503, 504):
                    break
                time.sleep(0.3 + 0.3 * retry)
            if pay.status == 200:
                with self.result.lock:
                    self.result.paid.append((fan.user_id, reservation))
                if rng.random() < self.refund_share:
                    for retry in range(4):  # no answer: ask again (409 ALREADY_REFUNDED if it went through)
                        refund = self._do(
                            index, step + retry, "refund", "POST", f"/reservations/{reservation}/refund", fan, body={}
                        )
                        if refund.status not in (0, 500, 502, 503, 504):
                            break
                        time.sleep(0.3 + 0.3 * retry)
                    return "paid_refunded"
                return "paid"
            if pay.code == "WRONG_PIN":
                wrong = 0
                continue
            if pay.status == 403:  # the token is gone (e.g. Redis lost the queue): enter again
                return self._journey_again(index, fan, rng)
            return f"pay_{pay.status}_{pay.code}"
        return "pay_limit"

    def _journey_again(self, index: int, fan: Fan, rng: random.Random) -> str:
        if self._left() <= 0:
            return "timed_out"
        return "again:" + self._journey(index, fan, rng).removeprefix("again:")


class QueueSampler(threading.Thread):
    """Samples the concert's waiting room in Redis as often as it can (one pipeline a round):
    the active set's size (max seen), tokens both waiting and active, and each token's stays in
    the active set (a token admitted, gone, then active again was admitted twice)."""

    def __init__(
        self, redis_url: str, prefix: str, concert_id: int, *, interval: float = 0.005, cluster: bool = False
    ) -> None:
        """`cluster`: redis_url is a Redis Cluster's (the waiting room's REDIS_CLUSTER_URL); the
        concert's keys share one slot, so each sample is still one MULTI on one node."""
        super().__init__(daemon=True)
        import redis
        from redis.cluster import RedisCluster

        if cluster:
            self.client = RedisCluster.from_url(redis_url, socket_timeout=2)
        else:
            self.client = redis.Redis.from_url(redis_url, socket_timeout=2)
        tag = f"{{c{concert_id}}}"
        self.keys = {name: f"{prefix}:queue:{tag}:{name}" for name in ("waiting", "active", "tokens", "admits")}
        self.interval = interval
        self.stop_event = threading.Event()
        self.samples = 0
        self.errors = 0
        self.max_active = 0
        self.both_waiting_and_active: set[str] = set()
        self.readmitted: set[str] = set()
        self.token_user: dict[str, str] = {}
        self.admissions: dict[str, float] = {}
        self._was_active: set[str] = set()
        self._left_active: set[str] = set()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                pipe = self.client.pipeline(transaction=True)  # MULTI: one consistent view
                pipe.zrange(self.keys["waiting"], 0, -1)
                pipe.zrange(self.keys["active"], 0, -1)
                pipe.hgetall(self.keys["tokens"])
                pipe.zrange(self.keys["admits"], 0, -1, withscores=True)
                waiting, active, tokens, admits = pipe.execute()
            except Exception:  # noqa: BLE001 - Redis down during a drill: keep sampling
                self.errors += 1
                time.sleep(0.05)
                continue
            self.samples += 1
            active_set = {t.decode() for t in active}
            self.max_active = max(self.max_active, len(active_set))
            self.both_waiting_and_active |= active_set & {t.decode() for t in waiting}
            for token, user in tokens.items():
                self.token_user[token.decode()] = user.decode()
            for token, score in admits:
                self.admissions.setdefault(token.decode(), score)
            self.readmitted |= active_set & self._left_active
            self._left_active |= self._was_active - active_set
            self._was_active = active_set
            time.sleep(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)

    def users_admitted_twice(self) -> dict[str, list[str]]:
        """Users with more than one admitted token (each fan enters once in these drills, unless
        its token was lost with Redis)."""
        by_user: dict[str, list[str]] = {}
        for token in self.admissions:
            user = self.token_user.get(token)
            if user is not None:
                by_user.setdefault(user, []).append(token)
        return {user: tokens for user, tokens in by_user.items() if len(tokens) > 1}

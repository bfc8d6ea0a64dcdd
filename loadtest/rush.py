"""The on-sale rush, driven by locust (one locust user = one fan), headless, through locust's
Python API. Run by loadtest.run (scripts/loadtest), which seeds the database and starts the stack:

    python -m loadtest.rush --config var/loadtest/<run>/rush.json --out var/loadtest/<run>/rush-result.json

That process is locust's master; it starts the config's `load_generator_workers` worker processes
(this module again, with --worker-of), which play the fans and hand their measurements back at the
end (0 workers: the master plays them itself). One process is one gevent loop, one core at most:
10,000 fans at the opening and the drain after sell-out took one process to 80 % of a core.

The config names the web instances (fans are spread across them), the seeded fans file, the
concert, show and Redis keys, and the bounds. Each fan: enters the queue (all N within
--ramp-seconds), waits the answer's refresh_after_seconds, follows its event stream (or, with
--polling, polls honouring refresh_after_seconds with +-30% jitter), and once ACTIVE browses
the shows and the seat map, holds 1-4 seats (retrying on SEAT_UNAVAILABLE) and pays, with some
wrong PINs, some fans exhausting their attempts, some abandoned holds, some too-poor wallets
(half of them charge points and pay again) and some refunds right after paying. A website fan
(--web-share, seeded with a session) does the same through the fan pages: the concert page and
its button's entry, the stream the answer names, then the seat map page, its form and the
payment page (loadtest.fan_pages reads them). Every loop is bounded in count and in time; all
traffic goes to 127.0.0.1.

A monitor greenlet samples Redis (active and waiting sizes, the admissions log) and the show's
seats in PostgreSQL twice a second; it decides sell-out and ends the run.
"""

import gevent
import gevent.monkey

# Every fan connects to a numeric address (127.0.0.1). gevent's default resolver sends each
# connection's getaddrinfo through a thread pool (about 0.1 ms of CPU and two thread hand-offs
# each); the blocking one answers at once (locust's cores while 10,000 fans entered: 0.58-0.60
# before, 0.51-0.58 after; docs/performance-log.md, 2026-12-04 21:00).
gevent.config.resolver = "block"
gevent.monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from http.cookiejar import Cookie  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlencode, urlsplit  # noqa: E402

import gevent  # noqa: E402
import orjson  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402
from locust import constant, task  # noqa: E402
from locust.contrib.fasthttp import FastHttpUser  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.exception import StopUser  # noqa: E402

from loadtest import fan_pages, figures  # noqa: E402
from loadtest.behaviour import (  # noqa: E402
    ABANDON_SHARE,
    EXHAUST_SHARE,
    PICK_PAUSE,
    PIN_PAUSE,
    RECHARGE_SHARE,
    REFUND_PAUSE,
    REFUND_SHARE,
    RETURNS_EXTRA_S,
    RETURNS_PAUSE,
    SEAT_COUNT_WEIGHTS,
    SHOWS_PAUSE,
    WRONG_PIN_PAUSE,
    WRONG_PIN_SHARE,
    WRONG_PINS,
)

API = "/api/v1"
MAX_ENTER_ATTEMPTS = 6
MAX_POLLS = 400
MAX_REENTERS = 3
MAX_HOLD_ATTEMPTS = 4
MAX_PAY_RETRIES = 3  # connection errors only, same Idempotency-Key
# After the stop (sold out and drained, or the time limit) the fans mid-call get this long to finish.
STRAGGLERS_GRACE_S = 15


class Rush:
    """Shared state of one run: config, fans, and everything measured."""

    def __init__(self, config: dict) -> None:
        self.config = config
        with open(config["fans_file"]) as fh:
            seeded = json.load(fh)
        self.fans = seeded["fans"][: config["fans"]]
        self.pin = seeded["pin"]
        self.concert_id = seeded["concert_id"]
        self.show_id = seeded["show_id"]
        self.seats_total = seeded["seats"]
        self.hosts = config["hosts"]
        # Which fan a new locust user plays: one counter in Redis, so that every process of a
        # distributed run (master + workers) draws from the same line and no fan is played twice.
        # A few connections, waited for: thousands of fans start within seconds.
        pool = redis.BlockingConnectionPool.from_url(config["redis_url"], max_connections=4, timeout=None)
        self._redis = redis.Redis(connection_pool=pool)
        self._fan_counter_key = config["fan_counter_key"]
        self.rng = random.Random(config.get("seed", 11))
        self.t0 = time.time()
        self.deadline = self.t0 + config["max_seconds"]
        self.stop = False
        self.stop_reason = ""
        # measurements
        self.calls: dict[str, list[tuple[float, float]]] = defaultdict(list)  # name -> [(start, latency)]
        # name -> [(latency, proxy queue, app, start)]: the client's time split by HAProxy's Server-Timing
        self.split: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
        self.loop_lag: list[float] = []  # how late this process's event loop woke a sleeping greenlet
        self.errors: Counter = Counter()  # "name status CODE" -> n
        self.enter_ok: list[float] = []  # end times of successful enters
        self.entered_waiting: set[str] = set()  # tokens whose first answer was WAITING
        self.first_active: dict[str, float] = {}  # token -> time the fan first saw ACTIVE
        # (start, end) of each request that freed an active place (payment, leave, 5th failure)
        self.freed: list[tuple[float, float]] = []
        self.admissions: dict[str, float] = {}  # token -> admission epoch (from Redis)
        self.outcomes: Counter = Counter()
        self.samples: list[dict] = []
        self.max_active = 0
        self.max_waiting = 0
        self.sold_out_at: float | None = None  # every seat sold
        self.taken_at: float | None = None  # every seat held or sold for the first time
        self.finished = 0
        self.stream_events = 0  # status events received on the waiting room's streams
        self.stream_heartbeats = 0  # and their comment lines between far-apart statuses

    def next_fan(self) -> tuple[int, dict] | None:
        i = self._redis.incr(self._fan_counter_key) - 1
        return (i, self.fans[i]) if i < len(self.fans) else None

    def reset_fan_counter(self) -> None:
        self._redis.delete(self._fan_counter_key)

    def measurements(self) -> dict:
        """What this process measured, as JSON: a worker hands it to the master (merge)."""
        return {
            "calls": self.calls,
            "split": self.split,
            "loop_lag": self.loop_lag,
            "gc_pauses": GC_PAUSES.pauses,
            "errors": self.errors,
            "enter_ok": self.enter_ok,
            "entered_waiting": sorted(self.entered_waiting),
            "first_active": self.first_active,
            "freed": self.freed,
            "outcomes": self.outcomes,
            "finished": self.finished,
            "stream_events": self.stream_events,
            "stream_heartbeats": self.stream_heartbeats,
        }

    def merge(self, part: dict) -> None:
        """Add a worker's measurements to this (the master's) run."""
        for name, rows in part["calls"].items():
            self.calls[name] += [tuple(row) for row in rows]
        for name, rows in part["split"].items():
            self.split[name] += [tuple(row) for row in rows]
        self.loop_lag += part["loop_lag"]
        GC_PAUSES.pauses += part["gc_pauses"]
        self.errors.update(part["errors"])
        self.enter_ok += part["enter_ok"]
        self.entered_waiting.update(part["entered_waiting"])
        self.first_active.update(part["first_active"])
        self.freed += [tuple(row) for row in part["freed"]]
        self.outcomes.update(part["outcomes"])
        self.stream_events += part["stream_events"]
        self.stream_heartbeats += part["stream_heartbeats"]

    def server_errors(self) -> int:
        return sum(n for key, n in self.errors.items() if key.split()[1].startswith("5"))

    def time_left(self) -> float:
        return self.deadline - time.time()


RUSH: Rush | None = None


class Fan(FastHttpUser):
    host = "http://127.0.0.1"
    wait_time = constant(0)
    network_timeout = 60.0
    connection_timeout = 30.0
    max_retries = 0

    def on_start(self) -> None:
        assigned = RUSH.next_fan()
        self.fan = None
        if assigned is None:
            # Every fan is played (locust's dispatcher replaces users that finished while it
            # still ramps up): this user ends at its task without a journey.
            return
        index, fan = assigned
        self.host = RUSH.hosts[index % len(RUSH.hosts)]
        self.base = self.host + API
        self.fan = fan
        self.rng = random.Random(index)
        self.auth = {"Authorization": f"Token {fan['token']}"}
        self.token: str | None = None
        self.seat_map: tuple[str, list[dict]] | None = None  # (ETag, seats) of the last seat map
        # A website fan (seeded with a session: --web-share) waits through the fan pages; its
        # stream's URL carries the waiting page's ticket.
        self.events_url: str | None = None
        if fan.get("session"):
            self.client.cookiejar.set_cookie(_cookie("sessionid", fan["session"], self.host))

    @task
    def journey(self) -> None:
        if self.fan is None:
            raise StopUser()
        try:
            outcome = self._journey()
        except StopUser:
            outcome = "stopped"
        RUSH.outcomes[outcome] += 1
        RUSH.finished += 1
        raise StopUser()

    # -- HTTP ---------------------------------------------------------------------------------
    def call(
        self, name: str, method: str, path: str, *, body=None, headers=None, by_page: bool = False
    ) -> tuple[int, dict, float]:
        """An API call with the fan's key (and queue token); `by_page`: a fan page's script's call,
        `path` from the host and no key (the page's URL carries what names the fan)."""
        hdrs = {} if by_page else dict(self.auth)
        if self.token and not by_page:
            hdrs["X-Queue-Token"] = self.token
        hdrs.update(headers or {})
        start = time.time()
        url = (self.host if by_page else self.base) + path
        resp = self.client.request(method, url, name=name, json=body, headers=hdrs)
        latency = time.time() - start
        RUSH.calls[name].append((start, latency))
        status = resp.status_code or 0
        timing = figures.proxy_timing(resp.headers.get("Server-Timing", "") if resp.headers else "")
        if timing is not None:
            RUSH.split[name].append((latency, *timing, start))
        self.last_etag = resp.headers.get("ETag", "") if resp.headers else ""
        data: dict = {}
        if resp.content:
            try:
                data = orjson.loads(resp.content)  # a fan's browser parses natively: 3x json's speed
            except ValueError:
                data = {}
        if status == 0 or status >= 400:
            code = data.get("code", "CONNECTION_ERROR" if status == 0 else "NO_CODE") if isinstance(data, dict) else ""
            RUSH.errors[f"{name} {status} {code}"] += 1
            if status in (0, 429) or status >= 500:
                retry = resp.headers.get("Retry-After") if resp.headers else None
                data = {"code": code, "_retry_after": float(retry) if retry else None}
        return status, data if isinstance(data, dict) else {"results": data}, start

    def pause(self, low: float, high: float) -> None:
        gevent.sleep(min(self.rng.uniform(low, high), max(0.0, RUSH.time_left())))

    # -- the journey --------------------------------------------------------------------------
    def _journey(self) -> str:
        current = self._enter()
        if current is None:
            return "enter_failed"
        web = bool(self.fan.get("session"))
        self._wait_refresh(current)
        polls = reenters = 0
        stream = RUSH.config.get("streams", True)  # told instead of asking; polling is the fallback
        while current.get("status") != "ACTIVE":
            if RUSH.stop or RUSH.time_left() <= 0:
                return "gave_up_waiting"
            if polls >= MAX_POLLS:
                return "poll_limit"
            if stream or web:  # the fan pages follow the stream (polling only without EventSource)
                status, data = self._listen()
                polls += 1
                stream = status in (200, 404)  # a stream refused or broken: poll once, then try again
                if status == 200 and data.get("status") != "ACTIVE":
                    # The server ended the stream (far back in the line, or its time is up): like
                    # an EventSource, connect again after its `retry`.
                    self.pause(data["_retry_s"], data["_retry_s"])
            else:
                stream = RUSH.config.get("streams", True)
                refresh = float(current.get("refresh_after_seconds") or 2)
                self.pause(refresh * 0.7, refresh * 1.3)
                if RUSH.stop or RUSH.time_left() <= 0:
                    return "gave_up_waiting"
                status, data, _ = self.call("poll", "GET", "/queue-tokens/current")
                polls += 1
            if status == 200:
                current = data
            elif status == 404:
                reenters += 1
                if reenters > MAX_REENTERS:
                    return "lost_place"
                current = self._enter()
                if current is None:
                    return "enter_failed"
                self._wait_refresh(current)
            else:  # 503 SERVICE_UNAVAILABLE, connection error: keep the refresh, back off a little
                current = {"status": current.get("status"), "refresh_after_seconds": data.get("_retry_after") or 3}
                self.pause(1, 1 + (data.get("_retry_after") or 2))
        RUSH.first_active.setdefault(self.token, time.time())
        return self._book()

    def _wait_refresh(self, answer: dict) -> None:
        """After entering, a waiting fan asks again (its stream included) only after the answer's
        refresh_after_seconds, as the SPEC says and the fans' page does (plus up to 30 % jitter):
        an EventSource opened at once would ask again at once, and far back in the line the
        stream would only repeat the answer the fan already has."""
        if answer.get("status") != "ACTIVE":
            refresh = float(answer.get("refresh_after_seconds") or 2)
            self.pause(refresh, refresh * 1.3)

    def _listen(self) -> tuple[int, dict]:
        """Follow the waiting room's event stream until it ends: (200, the last status with the
        stream's `retry` as "_retry_s") once ACTIVE or when the server ends the stream, (404, {}) for
        TOKEN_NOT_FOUND, (status, {}) when the
        stream could not be opened or broke. "events" times the wait for the stream's first
        event; each status event is counted in RUSH.stream_events, each heartbeat (a comment line)
        in RUSH.stream_heartbeats."""
        if self.events_url:  # the waiting page's EventSource: its ticket, no key
            url, headers = self.host + self.events_url, {"Accept": "text/event-stream"}
        else:
            url, headers = self.base + "/queue-tokens/current/events", {**self.auth, "X-Queue-Token": self.token or ""}
        start = time.time()
        try:
            resp = self.client.request("GET", url, name="events", headers=headers, stream=True)
        except Exception:  # noqa: BLE001 - a connection error is an answer like any other here
            resp = None
        status = (resp.status_code or 0) if resp is not None else 0
        if status != 200:
            RUSH.calls["events"].append((start, time.time() - start))
            RUSH.errors[f"events {status} {'CONNECTION_ERROR' if status == 0 else ''}".strip()] += 1
            return status, {}
        last: dict = {}
        kind = ""
        retry_s = 0.0  # the stream's `retry:`: how long an EventSource waits before it connects again
        try:
            while True:  # to the stream's end (it ends after ACTIVE), so the connection can be reused
                line = resp._response.readline(b"\n")  # FastResponse.iter_content waits for 1 KB
                if not line:
                    break  # the server ended the stream
                text = line.decode().rstrip("\r\n")
                if text.startswith(":"):
                    RUSH.stream_heartbeats += 1
                elif text.startswith("retry:"):
                    retry_s = int(text[6:].strip()) / 1000
                elif text.startswith("event:"):
                    kind = text[6:].strip()
                elif text.startswith("data:"):
                    if not last and kind == "status":
                        RUSH.calls["events"].append((start, time.time() - start))
                    data = orjson.loads(text[5:])
                    if kind == "error":
                        RUSH.errors[f"events stream {data.get('code')}"] += 1
                        return (404 if data.get("code") == "TOKEN_NOT_FOUND" else 503), {}
                    last = data
                    RUSH.stream_events += 1
        except Exception:  # noqa: BLE001 - a broken stream: the caller polls or connects again
            RUSH.errors["events 0 STREAM_BROKEN"] += 1
            return 0, {}
        finally:
            resp._response.release()
        return (200, {**last, "_retry_s": retry_s}) if last else (0, {})

    def _enter(self) -> dict | None:
        if self.fan.get("session"):
            return self._enter_through_pages()
        return self._enter_with_api_key()

    def _enter_through_pages(self) -> dict | None:
        """A website fan: the concert page, then its button's entry with the page's ticket (on the
        event loop, as enter.js sends it; counted with the API's entries), whose answer names the
        place's stream (with its ticket), followed as queue.js does; admitted, the fan books
        through the pages (_book_through_pages)."""
        body = self._page_until_answered("page_concert", "GET", f"/concerts/{RUSH.concert_id}/", expected=200)
        entry_url = fan_pages.entry_url(body or b"")
        if entry_url is None:
            return None
        current = self._enter_at(entry_url, by_page=True)
        if current is not None:
            self.events_url = current["events_url"]
        return current

    def _page_until_answered(self, name: str, method: str, path: str, *, expected: int) -> bytes | None:
        """The page's HTML once it answers `expected`; a busy server (503, 429) or a broken
        connection is tried again after a pause, as a fan reloads (at most MAX_ENTER_ATTEMPTS)."""
        for _ in range(MAX_ENTER_ATTEMPTS):
            if RUSH.time_left() <= 0:
                return None
            status, body, _ = self.page(name, method, path)
            if status == expected:
                return body
            if status not in (0, 429) and status < 500:
                return None
            self.pause(1, 3)
        return None

    def page(self, name: str, method: str, path: str, *, data: dict | None = None) -> tuple[int, bytes, str | None]:
        """A fan page with the fan's session (cookies), as a browser asks for it (`data`: a form's
        fields, posted): (status, HTML, where a redirect leads). A redirect is not followed (the
        caller asks for what it leads to, as its own call)."""
        headers = {"Referer": self.host + path}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.time()
        resp = self.client.request(method, self.host + path, name=name, allow_redirects=False, headers=headers,
                                   data=urlencode(data, doseq=True) if data is not None else None)  # fmt: skip
        latency = time.time() - start
        RUSH.calls[name].append((start, latency))
        timing = figures.proxy_timing(resp.headers.get("Server-Timing", "") if resp.headers else "")
        if timing is not None:
            RUSH.split[name].append((latency, *timing, start))
        status = resp.status_code or 0
        if status == 0 or status >= 400:
            RUSH.errors[f"{name} {status}{' CONNECTION_ERROR' if status == 0 else ''}"] += 1
        location = resp.headers.get("Location") if resp.headers else None
        return status, resp.content or b"", location

    def _enter_with_api_key(self) -> dict | None:
        return self._enter_at(f"/concerts/{RUSH.concert_id}/queue-tokens")

    def _enter_at(self, path: str, *, by_page: bool = False) -> dict | None:
        """Enter (a refusal of the moment is tried again, at most MAX_ENTER_ATTEMPTS): the place, or None."""
        for _ in range(MAX_ENTER_ATTEMPTS):
            if RUSH.time_left() <= 0:
                return None
            status, data, _ = self.call("enter", "POST", path, by_page=by_page)
            if status in (200, 201):
                self.token = data["token"]
                RUSH.enter_ok.append(time.time())
                if data["status"] == "WAITING":
                    RUSH.entered_waiting.add(self.token)
                return data
            if status in (400, 401, 403, 404):
                return None
            self.pause(1, 1 + (data.get("_retry_after") or 2))
        return None

    def _leave(self) -> None:
        """Only admitted fans leave, after a sold-out answer (loadtest.figures.ADMITTED_LEAVE); a
        waiting fan who gives up just goes."""
        start = time.time()
        status, _, _ = self.call("leave", "DELETE", "/queue-tokens/current")
        if status == 204:
            RUSH.freed.append((start, time.time()))

    def _seats(self) -> list[dict] | None:
        """The seat map's free seats; like a browser, the fan sends back the ETag it has and
        reuses its copy on 304 Not Modified."""
        headers = {"If-None-Match": self.seat_map[0]} if self.seat_map else None
        status, data, _ = self.call("seats", "GET", f"/shows/{RUSH.show_id}/seats", headers=headers)
        if status == 200:
            self.seat_map = (self.last_etag, data["results"])
        elif status != 304 or self.seat_map is None:
            return None
        return [seat for seat in self.seat_map[1] if seat["status"] == "AVAILABLE"]

    def _seats_or_returns(self) -> list[dict] | None:
        """The free seats; none free but some held: wait for returns (behaviour.RETURNS_*)."""
        give_up_at = time.time() + RUSH.config["hold_seconds"] + RETURNS_EXTRA_S
        while True:
            available = self._seats()
            if available or available is None or RUSH.stop or time.time() >= give_up_at:
                return available
            if not any(seat["status"] == "HELD" for seat in self.seat_map[1]):
                return available  # every seat sold: nothing will come back
            self.pause(*RETURNS_PAUSE)

    def _book(self) -> str:
        if self.fan.get("session"):
            return self._book_through_pages()
        self.pause(*SHOWS_PAUSE)
        status, data, _ = self.call("shows", "GET", f"/concerts/{RUSH.concert_id}/shows")
        if status != 200:
            return f"shows_{status}"
        show = next((s for s in data["results"] if s["id"] == RUSH.show_id), None)
        if show is None or show["status"] == "CLOSED":
            self._leave()
            return "sold_out_seen"

        reservation = None
        wanted = self._seats_wanted()
        for _ in range(MAX_HOLD_ATTEMPTS):
            if RUSH.time_left() <= 0:
                return "time_limit"
            available = self._seats_or_returns()
            if available is None:
                return "seats_failed"
            if not available:
                self._leave()
                return "sold_out_seen"
            self.pause(*PICK_PAUSE)  # picking seats on the map
            pick = self.rng.sample(available, min(wanted, len(available)))
            status, data, _ = self.call(
                "hold", "POST", "/reservations", body={"show_id": RUSH.show_id, "seat_ids": [s["id"] for s in pick]}
            )
            if status == 201:
                reservation = data
                break
            if status == 409 and data.get("code") == "SEAT_UNAVAILABLE":
                continue
            if status == 409 and data.get("code") == "SHOW_NOT_BOOKABLE":
                self._leave()
                return "sold_out_seen"
            return f"hold_{status}_{data.get('code')}"
        if reservation is None:
            self._leave()
            return "no_seats_after_retries"

        roll = self.rng.random()
        if roll < ABANDON_SHARE:
            return "abandoned_hold"
        self.pause(*PIN_PAUSE)  # typing the PIN
        wrong = self._wrong_pins(roll)
        recharged = False
        for _attempt in range(8):
            pin = "000000" if wrong > 0 else RUSH.pin
            start = time.time()
            status, data = self._pay(reservation["id"], pin)
            if status == 200:
                RUSH.freed.append((start, time.time()))  # paying takes the fan out of the active set
                if self.rng.random() < REFUND_SHARE:
                    self.pause(*REFUND_PAUSE)
                    status, _, _ = self.call("refund", "POST", f"/reservations/{reservation['id']}/refund", body={})
                    return "paid_refunded" if status == 200 else f"refund_{status}"
                return "paid"
            code = data.get("code")
            if code == "WRONG_PIN":
                wrong -= 1
                self.pause(*WRONG_PIN_PAUSE)
                continue
            if code == "PAYMENT_ATTEMPTS_EXCEEDED":
                RUSH.freed.append((start, time.time()))
                return "attempts_exceeded"
            if code == "INSUFFICIENT_BALANCE" and not recharged and self.rng.random() < RECHARGE_SHARE:
                recharged = True
                self.call("charge", "POST", "/wallet/charges", body={"amount": 1_000_000}, headers=_idem())
                continue
            if code == "INSUFFICIENT_BALANCE":
                self._leave()
                return "too_poor"
            return f"pay_{status}_{code}"
        return "pay_loop_limit"

    def _book_through_pages(self) -> str:
        """A website fan, admitted, books as a browser does: its page goes to the waiting page with
        the place's token (which takes the place over into the session and leads to the show's
        seat map page), the fan picks seats and posts the map's form (a seat taken meanwhile: the
        map again, as the answer), then the payment page and its PIN, with the same pauses,
        abandoned holds and wrong PINs as the app's fans. Simplified: no refunds, no recharge,
        and a map with no free seat is sold out (no waiting for returns)."""
        waiting_page = f"/concerts/{RUSH.concert_id}/queue/?{urlencode({'token': self.token, 'show': RUSH.show_id})}"
        status, _, seat_page = self.page("page_waiting", "GET", waiting_page)
        if status != 302:
            return f"page_waiting_{status}"
        self.pause(*SHOWS_PAUSE)
        status, body, _ = self.page("page_seats", "GET", seat_page)
        payment_page = None
        wanted = self._seats_wanted()
        for _ in range(MAX_HOLD_ATTEMPTS):
            if RUSH.time_left() <= 0:
                return "time_limit"
            free, token = fan_pages.free_seats(body), fan_pages.form_token(body)
            if status not in (200, 409) or token is None:
                return f"page_seats_{status}"
            if not free:
                self._leave()
                return "sold_out_seen"
            self.pause(*PICK_PAUSE)  # picking seats on the map
            pick = self.rng.sample(free, min(wanted, len(free)))
            status, body, payment_page = self.page(
                "page_hold", "POST", seat_page, data={"csrfmiddlewaretoken": token, "seat_ids": pick}
            )
            if status == 302:
                break
        else:
            self._leave()
            return "no_seats_after_retries"

        roll = self.rng.random()
        if roll < ABANDON_SHARE:
            return "abandoned_hold"
        status, body, _ = self.page("page_payment", "GET", payment_page)
        self.pause(*PIN_PAUSE)  # typing the PIN
        wrong = self._wrong_pins(roll)
        for _attempt in range(8):
            form = fan_pages.payment_form(body)
            if status not in (200, 422) or form is None:
                return "attempts_exceeded" if status == 422 else f"page_pay_{status}"
            start = time.time()
            pin = "000000" if wrong > 0 else RUSH.pin
            status, body, _ = self.page("page_pay", "POST", payment_page, data={**form, "pin": pin})
            if status == 302:
                RUSH.freed.append((start, time.time()))  # paying takes the fan out of the active set
                return "paid"
            if status == 402:
                self._leave()
                return "too_poor"
            wrong -= 1
            self.pause(*WRONG_PIN_PAUSE)
        return "pay_loop_limit"

    def _seats_wanted(self) -> int:
        return self.rng.choices(list(SEAT_COUNT_WEIGHTS), weights=list(SEAT_COUNT_WEIGHTS.values()))[0]

    def _wrong_pins(self, roll: float) -> int:
        """How many wrong PINs the fan types before the right one, by the roll that decided it did
        not abandon its hold: 99 for one who never gets it right (the attempts run out)."""
        if roll < ABANDON_SHARE + EXHAUST_SHARE:
            return 99
        if roll < ABANDON_SHARE + EXHAUST_SHARE + WRONG_PIN_SHARE:
            return self.rng.randint(*WRONG_PINS)
        return 0

    def _pay(self, reservation_id: int, pin: str) -> tuple[int, dict]:
        key = _idem()
        for _ in range(MAX_PAY_RETRIES):
            status, data, _ = self.call(
                "pay", "POST", f"/reservations/{reservation_id}/payment", body={"pin": pin}, headers=key
            )
            if status != 0 and status < 500:
                return status, data
            self.pause(0.5, 1.5)
        return status, data


def _idem() -> dict:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _cookie(name: str, value: str, host_url: str) -> Cookie:
    """A cookie the browser holds for the host (a website fan's session from its log-in)."""
    host = urlsplit(host_url).hostname
    return Cookie(0, name, value, None, False, host, False, False, "/", True, False, None, False, None, None, {})


# -- the monitor ------------------------------------------------------------------------------
def monitor(env: Environment, config: dict) -> None:
    """Twice a second: the active and waiting sizes and the admissions log in Redis, the seats in
    PostgreSQL. Decides sell-out and the end of the run."""
    client = redis.Redis.from_url(config["redis_url"])
    waiting_key, active_key, admits_key = config["redis_keys"]
    db = psycopg.connect(config["database_url"], autocommit=True)
    sold_out_since = stopped_at = None
    while True:
        now = time.time()
        try:
            pipe = client.pipeline(transaction=False)
            pipe.zcard(active_key)
            pipe.zcard(waiting_key)
            pipe.zrange(admits_key, 0, -1, withscores=True)
            active, waiting, admits = pipe.execute()
            for token, score in admits:
                RUSH.admissions.setdefault(token.decode(), score)
        except redis.RedisError:
            active = waiting = -1
        try:
            rows = db.execute(
                "SELECT status, count(*) FROM concerts_showseat WHERE show_id = %s GROUP BY status", [RUSH.show_id]
            ).fetchall()
            seats = dict(rows)
        except psycopg.Error:
            seats = {}
            try:
                db.close()
                db = psycopg.connect(config["database_url"], autocommit=True)
            except psycopg.Error:
                pass
        RUSH.max_active = max(RUSH.max_active, active)
        RUSH.max_waiting = max(RUSH.max_waiting, waiting)
        RUSH.samples.append({"t": round(now - RUSH.t0, 2), "active": active, "waiting": waiting, "seats": seats})
        sold = seats.get("SOLD", 0)
        if sold + seats.get("HELD", 0) >= RUSH.seats_total:
            RUSH.taken_at = RUSH.taken_at or now
        if sold >= RUSH.seats_total:
            sold_out_since = sold_out_since or now
            RUSH.sold_out_at = RUSH.sold_out_at or now
            if not RUSH.stop and now - sold_out_since >= config["drain_seconds"]:
                RUSH.stop, RUSH.stop_reason = True, "sold out"
        else:
            sold_out_since = None
        if not RUSH.stop and RUSH.time_left() <= 0:
            RUSH.stop, RUSH.stop_reason = True, "time limit"
        if RUSH.stop and stopped_at is None:
            stopped_at = now
        if RUSH.finished >= len(RUSH.fans) or (RUSH.stop and env.runner.user_count == 0):
            return
        if stopped_at is not None and now - stopped_at > STRAGGLERS_GRACE_S:
            return  # fans still asleep till their next refresh or on a stream: the runner ends them
        if now > RUSH.deadline + config["grace_seconds"]:
            RUSH.stop_reason += " (grace over: users stopped)"
            return
        gevent.sleep(0.5)


class GcPauses:
    """The load generator's own garbage-collection pauses (each one stops every fan's greenlet):
    a cause of event-loop lag to tell apart from CPU saturation."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)


GC_PAUSES = GcPauses()
FULL_COLLECTIONS_NEVER = 2**31 - 1  # gc threshold2: middle-generation passes before a full one


def loop_lag_sampler(period: float = 0.1) -> None:
    """How late the event loop wakes a greenlet that asked to sleep `period`: the delay every
    measured latency of this process also carries (a saturated generator inflates them)."""
    while not RUSH.stop:
        before = time.monotonic()
        gevent.sleep(period)
        RUSH.loop_lag.append(max(0.0, time.monotonic() - before - period))


# -- figures ----------------------------------------------------------------------------------
def per_second(times: list[float]) -> dict:
    if not times:
        return {"n": 0}
    span = max(times) - min(times)
    buckets = Counter(int(t) for t in times)
    return {
        "n": len(times),
        "span_s": round(span, 2),
        "mean_per_s": round(len(times) / span, 1) if span > 0 else float(len(times)),
        "peak_per_s": max(buckets.values()),
    }


def freed_to_admitted(freed: list[tuple[float, float]], admissions: dict[str, float], waited: set[str]) -> list[float]:
    """Each freed place matched, in order, to the first admission (of a fan who had been waiting)
    after its request started (greedy). The value is how long after the fan's answer arrived the
    next fan was admitted: 0 when the admission happened while the request was still being served
    (the place is handed over in the same Redis script that removes the payer). Matches more than
    60 s apart are dropped (the line was empty)."""
    admits = sorted(score for token, score in admissions.items() if token in waited)
    out, j = [], 0
    for start, end in sorted(freed):
        while j < len(admits) and admits[j] < start:
            j += 1
        if j >= len(admits):
            break
        if admits[j] - end <= 60:
            out.append(max(0.0, admits[j] - end))
            j += 1
    return out


def own_cpu_seconds() -> float:
    """CPU (user + system) this process has used so far: locust, its greenlets and the monitor."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuWindows:
    """This process's share of one core since the last tick (~10 s), and the busiest such window.
    Each locust process is one gevent loop (one core at most), so past ~80 % of a core its own
    queueing inflates the latencies it measures."""

    def __init__(self) -> None:
        self.started = self.last_at = time.time()
        self.cpu_started = self.cpu_last = own_cpu_seconds()
        self.peak = 0.0
        self.last_share = 0.0

    def tick(self) -> float:
        now, cpu = time.time(), own_cpu_seconds()
        window = now - self.last_at
        self.last_share = (cpu - self.cpu_last) / window if window > 0 else 0.0
        if window >= 5:  # a shorter window (the first report's second) is too short for a peak
            self.peak = max(self.peak, self.last_share)
        self.last_at, self.cpu_last = now, cpu
        return self.last_share

    def figures(self) -> dict:
        return {
            "cpu_s": own_cpu_seconds() - self.cpu_started,
            "wall_s": time.time() - self.started,
            "peak_10s_share_of_one_core": self.peak,
            "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }


def latency_by_phase(entered_by: float, rush_start: float) -> dict:
    """The admitted fans' calls and the streams' first events split at the moment the last fan
    got into line: while thousands are still entering, the sale and the streams share the cores
    with them; after, they have them to themselves."""
    phases: dict = {}
    for name in figures.PHASE_CALLS:
        calls = RUSH.calls.get(name, [])
        phases[name] = {
            "while_entering": figures.percentiles([lat for start, lat in calls if start < entered_by]),
            "after": figures.percentiles([lat for start, lat in calls if start >= entered_by]),
        }
    # The holds while fans enter, ten seconds at a time: when the slow ones were made (the first
    # seconds, while locust starts 10,000 fans, or all along), and where their time went.
    holds, split = RUSH.calls.get("hold", []), RUSH.split.get("hold", [])

    def made_in(start: int, at: float) -> bool:
        return start <= at - rush_start < start + 10

    windows = [
        {"from_s": start}
        | figures.percentiles([lat for at, lat in holds if made_in(start, at)])
        | {"split_mean_ms": figures.split_means_ms([row for row in split if made_in(start, row[3])])}
        for start in range(0, math.ceil(entered_by - rush_start), 10)
    ]
    return phases | {"entered_by_s": round(entered_by - rush_start, 1), "holds_by_10_s": windows}


def results(env: Environment, config: dict, started: float, ended: float) -> dict:
    rush_start = min((s for s, _ in RUSH.calls.get("enter", [])), default=started)
    admitted_to_seen = [
        RUSH.first_active[token] - admitted
        for token, admitted in RUSH.admissions.items()
        if token in RUSH.first_active and token in RUSH.entered_waiting
    ]
    enter_window = [t for t in RUSH.enter_ok]
    return {
        "fans": len(RUSH.fans),
        "web_instances": RUSH.hosts,
        "duration_s": round(ended - started, 1),
        "rush_started_at": rush_start,  # time.time() of the first entry: the run splits its CPU timeline here
        "samples_started_at": RUSH.t0,  # time.time() that the samples' t counts from
        "stop_reason": RUSH.stop_reason or "every fan finished",
        "tokens_issued": per_second(enter_window),
        "polls": per_second([s for s, _ in RUSH.calls.get("poll", [])]),
        "streams": {
            "opened": len(RUSH.calls.get("events", [])),
            "status_events": RUSH.stream_events,
            "heartbeats": RUSH.stream_heartbeats,
        },
        "latency": {name: figures.percentiles([lat for _, lat in calls]) for name, calls in sorted(RUSH.calls.items())},
        "latency_split": {name: figures.latency_split(rows) for name, rows in sorted(RUSH.split.items())},
        "latency_by_phase": latency_by_phase(max(enter_window, default=rush_start), rush_start),
        "load_generator_loop_lag": figures.percentiles(RUSH.loop_lag),
        "load_generator_gc_pauses": {
            "n": len(GC_PAUSES.pauses),
            "total_s": round(sum(GC_PAUSES.pauses), 2),
            "max_ms": round(max(GC_PAUSES.pauses, default=0) * 1000, 1),
        },
        "freed_place_to_next_admission": figures.percentiles(
            freed_to_admitted(RUSH.freed, RUSH.admissions, RUSH.entered_waiting)
        ),
        "admission_to_fan_sees_active": figures.percentiles(admitted_to_seen),
        "time_to_sell_out_s": round(RUSH.sold_out_at - rush_start, 1) if RUSH.sold_out_at else None,
        "time_to_every_seat_taken_s": round(RUSH.taken_at - rush_start, 1) if RUSH.taken_at else None,
        "seats_total": RUSH.seats_total,
        "final_seats": RUSH.samples[-1]["seats"] if RUSH.samples else {},
        "max_active_seen": RUSH.max_active,
        "active_size": config["active_size"],
        "max_waiting_seen": RUSH.max_waiting,
        "admissions_seen": len(RUSH.admissions),
        "outcomes": dict(RUSH.outcomes.most_common()),
        "errors_by_code": dict(RUSH.errors.most_common()),
        "server_errors_5xx": RUSH.server_errors(),
        "connection_errors": sum(n for key, n in RUSH.errors.items() if key.split()[1] == "0"),
        "samples": RUSH.samples[:: max(1, len(RUSH.samples) // 400)],
    }


def main(argv: list[str] | None = None) -> int:
    global RUSH
    parser = argparse.ArgumentParser(description="The on-sale rush (locust, headless).")
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--worker-of", type=int, help="(internal) run as a worker of the master on this port")
    args = parser.parse_args(argv)
    with open(args.config) as fh:
        config = json.load(fh)
    for host in config["hosts"]:
        if not host.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise SystemExit(f"refusing a non-local host: {host}")
    RUSH = Rush(config)
    # The collector's full passes stalled every greenlet for up to 2 s (27 of them, 12 s in all, in
    # a 10,000-fan run): latencies measured across one were the load generator's, not the
    # server's. The young generations are still collected; what lives long stays for the run's
    # few minutes (its peak memory is reported).
    gc.freeze()
    threshold0, threshold1, _ = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, FULL_COLLECTIONS_NEVER)
    gc.callbacks.append(GC_PAUSES)
    if args.worker_of:
        return run_worker(master_port=args.worker_of, out=Path(args.out))
    return run_master(config, config_path=args.config, out=Path(args.out))


PROGRESS_INTERVAL_S = 1.0


def run_worker(*, master_port: int, out: Path) -> int:
    """One worker of a distributed run: plays the fans the master spawns here, tells the master
    how many have finished, stops when told, and writes its measurements to `out` at the end."""
    env = Environment(user_classes=[Fan])
    runner = env.create_worker_runner("127.0.0.1", master_port)
    cpu = CpuWindows()

    def on_stop(msg, **kwargs) -> None:
        RUSH.stop, RUSH.stop_reason = True, msg.data

    def report_progress() -> None:
        last_tick = time.time()
        while True:
            gevent.sleep(PROGRESS_INTERVAL_S)
            if time.time() - last_tick >= 10:
                cpu.tick()
                last_tick = time.time()
            data = {"finished": RUSH.finished, "server_errors": RUSH.server_errors(), "cpu_share": cpu.last_share}
            runner.send_message("progress", data)

    runner.register_message("rush_stop", on_stop)  # not "stop": locust's own
    gevent.spawn(loop_lag_sampler)
    gevent.spawn(report_progress)
    runner.greenlet.join()  # until the master says quit
    out.write_text(json.dumps(RUSH.measurements() | {"load_generator": cpu.figures()}))
    return 0


def run_master(config: dict, *, config_path: str, out: Path) -> int:
    """The run: spawns the fans (on `load_generator_workers` worker processes of locust's
    distributed mode, or in this process when 0), watches the sale (monitor), and writes the
    figures of every process together."""
    workers = config.get("load_generator_workers", 0)
    env = Environment(user_classes=[Fan])
    progress: dict[str, dict] = {}  # worker id -> its last progress message
    procs: list[subprocess.Popen] = []
    if workers:
        port = _free_port()
        runner = env.create_master_runner("127.0.0.1", port)

        def on_progress(msg, **kwargs) -> None:
            progress[msg.node_id] = msg.data
            RUSH.finished = sum(each["finished"] for each in progress.values())

        runner.register_message("progress", on_progress)
        command = [sys.executable, "-m", "loadtest.rush", "--config", config_path, "--worker-of", str(port)]
        procs = [subprocess.Popen([*command, "--out", str(_worker_out(out, i))]) for i in range(workers)]
        connect_by = time.time() + 60
        while runner.worker_count < workers:
            if time.time() > connect_by or any(proc.poll() is not None for proc in procs):
                print(f"[rush] only {runner.worker_count} of {workers} locust workers connected", flush=True)
                runner.quit()
                return 1
            gevent.sleep(0.1)
    else:
        runner = env.create_local_runner()
    RUSH.reset_fan_counter()
    started = time.time()
    cpu = CpuWindows()
    runner.start(len(RUSH.fans), spawn_rate=max(1.0, len(RUSH.fans) / config["ramp_seconds"]))
    watcher = gevent.spawn(monitor, env, config)
    gevent.spawn(loop_lag_sampler)
    last_report, told_to_stop = 0.0, False
    while not watcher.dead:
        gevent.sleep(1)
        if RUSH.stop and workers and not told_to_stop:
            runner.send_message("rush_stop", RUSH.stop_reason)
            told_to_stop = True
        if time.time() - last_report >= 10:
            last_report = time.time()
            share = cpu.tick()
            sample = RUSH.samples[-1] if RUSH.samples else {}
            errors = sum(each["server_errors"] for each in progress.values()) if workers else RUSH.server_errors()
            shares = "".join(f"+{each['cpu_share']:.0%}" for each in progress.values())
            print(
                f"[rush] t={time.time() - started:5.0f}s users={runner.user_count} finished={RUSH.finished} "
                f"active={sample.get('active')} waiting={sample.get('waiting')} seats={sample.get('seats')} "
                f"5xx={errors} locust_cpu={share:.0%}{shares}",
                flush=True,
            )
    runner.quit()
    ended = time.time()
    processes = [cpu.figures()]
    for i, proc in enumerate(procs):
        try:
            proc.wait(timeout=60)
            part = json.loads(_worker_out(out, i).read_text())
        except (subprocess.TimeoutExpired, OSError, ValueError) as exc:
            print(f"[rush] locust worker {i} left no figures: {exc!r}", flush=True)
            proc.kill()
            return 1
        processes.append(part.pop("load_generator"))
        RUSH.merge(part)
    result = results(env, config, started, ended)
    result["load_generator"] = figures.load_generator(processes, ended - started, cores=os.cpu_count() or 1)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"[rush] done in {ended - started:.0f}s: {result['stop_reason']}", flush=True)
    return 0


def _worker_out(out: Path, index: int) -> Path:
    return out.with_name(f"{out.stem}-worker{index}.json")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())

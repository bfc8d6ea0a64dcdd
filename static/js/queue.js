/* The waiting room: follows the fan's event stream (told instead of asking: each status is pushed,
   an admission at once; data-events-url carries the page's signed ticket, since an EventSource
   sends no headers), updates the numbers, and goes to seat selection by itself when the fan is
   admitted. Where the stream cannot be had (no EventSource, or the server refuses it: the ticket
   past its time) it polls the queue endpoint when the server says to (refresh_after_seconds, plus
   jitter so that thousands of pages do not ask in the same second). Both start after the page's
   first refresh_after_seconds: the page already shows that status. Before booking opens
   (PREQUEUE) it shows a countdown to the opening: the fan's place appears once the pre-queue is
   placed. Each status is also what keeps the place: a fan silent for a few minutes loses it.
   The concert page draws the same room itself once its button entered (static/js/enter.js), and
   starts it here with the entry's answer as the first status. */
(function () {
  "use strict";
  if (!window.fetch) return;
  window.stagegateWaitingRoom = start;
  var waitingPageBox = document.getElementById("queue");
  if (waitingPageBox) start(waitingPageBox, null);

  function start(box, firstStatus) {
    var pollUrl = box.getAttribute("data-poll-url");
    var eventsUrl = box.getAttribute("data-events-url");
    var token = box.getAttribute("data-token");
    var nextUrl = box.getAttribute("data-next-url");
    var reloadUrl = box.getAttribute("data-reload-url");
    var waitEl = document.getElementById("queue-wait");
    var prequeueEl = document.getElementById("queue-prequeue");
    var lineEl = document.getElementById("queue-line");
    var countdownEl = document.getElementById("queue-countdown");
    var failures = 0;
    var opensAt = null; // ms timestamp of the opening, while PREQUEUE
    var ticker = null;

    function two(n) { return (n < 10 ? "0" : "") + n; }
    function formatCountdown(seconds) { // h:mm:ss or m:ss, as the server renders it
      var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
      return h > 0 ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
    }
    function tick() {
      if (opensAt === null) return;
      countdownEl.textContent = formatCountdown(Math.max(0, Math.ceil((opensAt - Date.now()) / 1000)));
    }
    function showPrequeue(secondsUntilOpen) {
      opensAt = Date.now() + Math.max(0, secondsUntilOpen) * 1000;
      prequeueEl.hidden = false;
      lineEl.hidden = true;
      tick();
      if (ticker === null) ticker = setInterval(tick, 1000);
    }
    function showLine() {
      opensAt = null;
      if (ticker !== null) { clearInterval(ticker); ticker = null; }
      prequeueEl.hidden = true;
      lineEl.hidden = false;
    }

    function withJitter(seconds) {
      var base = Math.max(1, seconds) * 1000;
      return base + Math.random() * base * 0.3;
    }
    // The estimate moves smoothly: each answer pulls the shown figures part of the way (an
    // exponential average), so one quiet or busy minute does not make the wait jump.
    var shown = null;
    var SMOOTHING = 0.4;
    function pull(from, to) { return from === null || to === null ? to : Math.round(from + SMOOTHING * (to - from)); }
    function span(seconds) {
      return seconds >= 60
        ? Math.round(seconds / 60) + " " + waitEl.getAttribute("data-min")
        : seconds + " " + waitEl.getAttribute("data-sec");
    }
    function showWait(data) { // the same wording as the server's wait_text tag
      var point = data.estimated_wait_seconds;
      if (point === null || point === undefined) { shown = null; waitEl.textContent = waitEl.getAttribute("data-unknown"); return; }
      var now = { point: point, low: data.estimated_wait_low_seconds, high: data.estimated_wait_high_seconds };
      if (now.low === undefined) now.low = null;
      if (now.high === undefined) now.high = null;
      shown = shown === null ? now : { point: pull(shown.point, now.point), low: pull(shown.low, now.low), high: pull(shown.high, now.high) };
      var text;
      if (shown.low === null) text = waitEl.getAttribute("data-about").replace("%s", span(shown.point));
      else if (shown.high === null) text = waitEl.getAttribute("data-at-least").replace("%s", span(shown.low));
      else if (shown.high - shown.low <= Math.max(60, shown.point * 0.3)) text = waitEl.getAttribute("data-about").replace("%s", span(shown.point));
      else text = span(shown.low) + " – " + span(shown.high);
      waitEl.textContent = text;
    }
    // Progress: how far the fan came from the place first seen on this page (kept per token).
    function showProgress(position) {
      var bar = document.getElementById("queue-progress");
      if (!bar || position === null || position === undefined || isNaN(position)) return;
      var key = "stagegate-first-position:" + token;
      var first = parseInt(window.sessionStorage.getItem(key), 10);
      if (isNaN(first) || position > first) { first = position; window.sessionStorage.setItem(key, String(first)); }
      var done = first <= 1 ? 100 : Math.round(100 * (first - position) / (first - 1));
      bar.value = done;
      bar.textContent = done + "%";
    }
    function schedule(seconds) { setTimeout(poll, withJitter(seconds)); }
    // One status, from a poll or the stream: the numbers, or seat selection once admitted.
    // False once the page is leaving.
    function show(data) {
      failures = 0;
      if (data.status === "ACTIVE") { window.location.assign(nextUrl); return false; }
      if (data.status === "PREQUEUE") {
        showPrequeue(data.seconds_until_open || 0);
      } else {
        showLine();
      }
      document.getElementById("queue-position").textContent = data.position === null ? "—" : data.position;
      document.getElementById("queue-ahead").textContent = data.ahead === null ? "—" : data.ahead;
      document.getElementById("queue-behind").textContent = data.behind === null || data.behind === undefined ? "—" : data.behind;
      showWait(data);
      showProgress(data.position);
      var updated = document.getElementById("queue-updated");
      updated.textContent = updated.getAttribute("data-text") + " " + new Date().toLocaleTimeString();
      return true;
    }
    function poll() {
      fetch(pollUrl, { credentials: "same-origin", headers: { "X-Queue-Token": token, "Accept": "application/json" } })
        .then(function (response) {
          if (response.status === 404 || response.status === 401 || response.status === 403) {
            window.location.assign(reloadUrl); // the server explains: session ended, or log in again
            return null;
          }
          var retryAfter = parseInt(response.headers.get("Retry-After"), 10);
          if (!response.ok && !isNaN(retryAfter)) { // 503 or 429: the server says when to ask again
            failures += 1;
            schedule(retryAfter);
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (data && show(data)) schedule(data.refresh_after_seconds || 5);
        })
        .catch(function () {
          failures += 1; // back off while the network or the server is unwell
          schedule(Math.min(30, 2 * Math.pow(2, failures)));
        });
    }
    // The stream: far back in the line the server ends it after each status, and the browser
    // connects again after the status's `retry` (the refresh) by itself.
    function follow() {
      var source = new EventSource(eventsUrl);
      source.addEventListener("status", function (event) {
        if (!show(JSON.parse(event.data))) source.close();
      });
      source.addEventListener("error", function (event) {
        if (event.data) { // the server's own `event: error` {code, message}
          source.close();
          var refusal = JSON.parse(event.data);
          if (refusal.code === "TOKEN_NOT_FOUND") { window.location.assign(reloadUrl); return; } // it explains
          setTimeout(follow, withJitter(refusal.retry_after_seconds || 5)); // SERVICE_UNAVAILABLE: a moment
        } else if (source.readyState === EventSource.CLOSED) { // refused outright: poll instead
          schedule(2);
        } // else the connection dropped: the browser connects again by itself
      });
    }
    if (firstStatus !== null) {
      if (!show(firstStatus)) return;
    } else {
      showProgress(parseInt(document.getElementById("queue-position").textContent, 10));
      var initial = parseInt(countdownEl.getAttribute("data-seconds"), 10);
      if (!prequeueEl.hidden && !isNaN(initial)) showPrequeue(initial);
    }
    var firstRefresh = parseInt(box.getAttribute("data-refresh-after"), 10) || 2;
    setTimeout(eventsUrl && window.EventSource ? follow : poll, withJitter(firstRefresh));
  }
})();

/* The waiting room: polls the queue endpoint when the server says to (refresh_after_seconds, plus
   jitter so that thousands of pages do not ask in the same second), updates the numbers, and goes
   to seat selection by itself when the fan is admitted. */
(function () {
  "use strict";
  var box = document.getElementById("queue");
  if (!box || !window.fetch) return;
  var pollUrl = box.getAttribute("data-poll-url");
  var token = box.getAttribute("data-token");
  var nextUrl = box.getAttribute("data-next-url");
  var reloadUrl = box.getAttribute("data-reload-url");
  var waitEl = document.getElementById("queue-wait");
  var failures = 0;

  function withJitter(seconds) {
    var base = Math.max(1, seconds) * 1000;
    return base + Math.random() * base * 0.3;
  }
  function showWait(seconds) {
    if (seconds === null || seconds === undefined) { waitEl.textContent = waitEl.getAttribute("data-unknown"); return; }
    waitEl.textContent = seconds >= 60
      ? Math.round(seconds / 60) + " " + waitEl.getAttribute("data-min")
      : seconds + " " + waitEl.getAttribute("data-sec");
  }
  function schedule(seconds) { setTimeout(poll, withJitter(seconds)); }
  function poll() {
    fetch(pollUrl, { credentials: "same-origin", headers: { "X-Queue-Token": token, "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 404 || response.status === 401 || response.status === 403) {
          window.location.assign(reloadUrl); // the server explains: session ended, or log in again
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (!data) return;
        failures = 0;
        if (data.status === "ACTIVE") { window.location.assign(nextUrl); return; }
        document.getElementById("queue-position").textContent = data.position === null ? "—" : data.position;
        document.getElementById("queue-ahead").textContent = data.ahead === null ? "—" : data.ahead;
        showWait(data.estimated_wait_seconds);
        var updated = document.getElementById("queue-updated");
        updated.textContent = updated.getAttribute("data-text") + " " + new Date().toLocaleTimeString();
        schedule(data.refresh_after_seconds || 5);
      })
      .catch(function () {
        failures += 1; // back off while the network or the server is unwell
        schedule(Math.min(30, 2 * Math.pow(2, failures)));
      });
  }
  schedule(parseInt(box.getAttribute("data-refresh-after"), 10) || 2);
})();

/* Live countdowns: <strong data-countdown="SECONDS_LEFT">. Counts from the seconds the server
   computed (so a wrong device clock does not matter); at zero shows data-expired-text and, with
   data-reload-on-end, reloads so the server explains what happened; data-hide-on-end names an
   element that no longer holds then (the concert page's "not on sale yet"). */
(function () {
  "use strict";
  // A page restored from the back/forward cache would show a stale countdown (e.g. a payment form
  // after paying): ask the server again instead.
  window.addEventListener("pageshow", function (event) { if (event.persisted) window.location.reload(); });
  var started = Date.now();
  var timers = Array.prototype.slice.call(document.querySelectorAll("[data-countdown]"));
  if (!timers.length) return;
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function fmt(s) {
    var m = Math.floor(s / 60), r = s % 60;
    return m < 60 ? m + ":" + two(r) : Math.floor(m / 60) + ":" + two(m % 60) + ":" + two(r);
  }
  function tick() {
    var elapsed = Math.floor((Date.now() - started) / 1000);
    timers.forEach(function (el) {
      var left = Math.max(0, parseInt(el.getAttribute("data-countdown"), 10) - elapsed);
      if (left > 0) { el.textContent = fmt(left); return; }
      if (el.getAttribute("data-done")) return;
      el.setAttribute("data-done", "1");
      el.textContent = el.getAttribute("data-expired-text") || "0:00";
      var stale = document.getElementById(el.getAttribute("data-hide-on-end") || "");
      if (stale) stale.hidden = true;
      if (el.getAttribute("data-reload-on-end")) setTimeout(function () { window.location.reload(); }, 1500);
    });
  }
  tick();
  setInterval(tick, 1000);
})();

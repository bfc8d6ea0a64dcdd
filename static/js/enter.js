/* The concert page's buttons: enter the waiting room on the event loop with the page's signed
   entry ticket (the form's data-enter-url; no session, no CSRF token: the ticket stands for it),
   then draw the waiting room in this page from the template and follow the place as the waiting
   page does (static/js/queue.js, started with the entry's answer). In an on-sale rush this spares
   the server the form's POST and the waiting page. The address becomes the waiting page's with
   the place's token, so a reload, and the admission, hand the place to the session there.
   Whatever goes wrong (a refusal, an expired ticket, no network) the form is sent as it is: the
   server enters with the session and its pages explain a refusal. */
(function () {
  "use strict";
  var template = document.getElementById("waiting-room");
  if (!template || !window.fetch || !window.history || !window.stagegateWaitingRoom) return;

  function drawWaitingRoom(place, showId) {
    var query = "token=" + encodeURIComponent(place.token) + (showId ? "&show=" + encodeURIComponent(showId) : "");
    var waitingUrl = template.getAttribute("data-waiting-url") + "?" + query;
    var main = document.getElementById("main");
    main.replaceChildren(template.content.cloneNode(true));
    var box = document.getElementById("queue");
    box.setAttribute("data-events-url", place.events_url);
    box.setAttribute("data-token", place.token);
    box.setAttribute("data-next-url", waitingUrl);
    box.setAttribute("data-reload-url", waitingUrl);
    box.setAttribute("data-refresh-after", String(place.refresh_after_seconds || 2));
    box.querySelector("input[name=token]").value = place.token;
    window.history.replaceState(null, "", waitingUrl);
    // The header's language switch comes back to where the fan now is.
    Array.prototype.forEach.call(document.querySelectorAll(".lang-switch input[name=next]"), function (next) {
      next.value = waitingUrl;
    });
    document.title = main.querySelector("h1").textContent + " · Stagegate";
    main.focus();
    window.stagegateWaitingRoom(box, place);
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-enter-url]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button.disabled) return;
      button.disabled = true;
      var show = form.querySelector("input[name=show]");
      fetch(form.getAttribute("data-enter-url"), { method: "POST", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (response.status !== 200 && response.status !== 201) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (place) { drawWaitingRoom(place, show ? show.value : null); })
        .catch(function () { form.submit(); });
    });
  });
})();

/* Seat selection: at most data-limit seats can be ticked; shows the chosen seats and their total.
   The server checks the limit again when holding. */
(function () {
  "use strict";
  var form = document.getElementById("seat-form");
  if (!form) return;
  var limit = parseInt(form.getAttribute("data-limit"), 10) || 1;
  var korean = (form.getAttribute("data-won-format") || "ko").indexOf("ko") === 0;
  var out = document.getElementById("selection");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=seat_ids]"));
  function won(n) { var s = n.toLocaleString("en-US"); return korean ? s + "원" : "₩" + s; }
  function update(changed) {
    var chosen = boxes.filter(function (b) { return b.checked; });
    if (chosen.length > limit && changed) {
      changed.checked = false;
      chosen = boxes.filter(function (b) { return b.checked; });
      out.textContent = out.getAttribute("data-limit-text");
      return;
    }
    if (!chosen.length) { out.textContent = out.getAttribute("data-none"); return; }
    var total = chosen.reduce(function (sum, b) { return sum + parseInt(b.getAttribute("data-price"), 10); }, 0);
    out.textContent = out.getAttribute("data-chosen") + ": " +
      chosen.map(function (b) { return b.getAttribute("data-label"); }).join(", ") +
      " · " + out.getAttribute("data-total") + " " + won(total);
  }
  boxes.forEach(function (b) { b.addEventListener("change", function () { update(b); }); });
  update(null);
})();

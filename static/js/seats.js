/* The seat map. The server checks everything again when holding; this only helps choosing.
   - Selection: at most data-limit seats; the sticky bar names them and their total.
   - Big halls (a #seat-overview is rendered): one section at a time, chosen on the overview.
   - Keyboard: one seat is in the tab order (roving tabindex); the arrow keys move between free
     seats (into the next section when need be), Home/End to the row's ends, Space/Enter toggles.
   - Live: every data-poll-seconds the page asks data-live-url for the seats with the ETag it has
     (304 while nothing changed); seats taken meanwhile are greyed out, and unticked with a
     message if the fan had chosen them; seats given back (a hold ran out) can be chosen again. */
(function () {
  "use strict";
  var form = document.getElementById("seat-form");
  if (!form) return;
  var limit = parseInt(form.getAttribute("data-limit"), 10) || 1;
  var korean = (form.getAttribute("data-won-format") || "ko").indexOf("ko") === 0;
  var out = document.getElementById("selection");
  var updates = document.getElementById("seat-updates");
  var overview = document.getElementById("seat-overview");
  var caption = document.getElementById("section-caption");
  var map = document.getElementById("seat-map");
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function seats() { return all("input[name=seat_ids]:not(:disabled)", form); }

  function won(n) { var s = n.toLocaleString("en-US"); return korean ? s + "원" : "₩" + s; }
  function update(changed) {
    var chosen = seats().filter(function (b) { return b.checked; });
    if (chosen.length > limit && changed) {
      changed.checked = false;
      out.textContent = out.getAttribute("data-limit-text");
      return;
    }
    if (!chosen.length) { out.textContent = out.getAttribute("data-none"); return; }
    var total = chosen.reduce(function (sum, b) { return sum + parseInt(b.getAttribute("data-price"), 10); }, 0);
    out.textContent = out.getAttribute("data-chosen") + ": " +
      chosen.map(function (b) { return b.getAttribute("data-label"); }).join(", ") +
      " · " + out.getAttribute("data-total") + " " + won(total);
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "seat_ids") update(event.target);
  });

  /* Sections (big halls only): the chosen section and as many of its neighbours in the zone as
     fit the width (one on a phone, three on a desktop). */
  var shown = [];
  var blockWidth = 0;
  var centre = null;  // the section the page opens on
  function fit(count) {
    var area = map.querySelector(".seat-zone:not([hidden]) .seat-row:not([hidden]) .row-blocks");
    var gap = parseFloat(getComputedStyle(area).columnGap) || 0;
    return Math.max(1, Math.min(count, Math.floor((area.clientWidth + gap) / (blockWidth + gap))));
  }
  function showSection(key, force) {
    if (!overview || (!force && shown.indexOf(key) >= 0)) return;
    var button = overview.querySelector('.overview-section[data-section="' + key + '"]');
    var row = all(".overview-section", button.parentNode), i = row.indexOf(button), k = fit(row.length);
    var start = Math.max(0, Math.min(i - Math.floor((k - 1) / 2), row.length - k));
    var window_ = row.slice(start, start + k);
    shown = window_.map(function (b) { return b.getAttribute("data-section"); });
    all(".seat-block", map).forEach(function (block) { block.hidden = shown.indexOf(block.getAttribute("data-section")) < 0; });
    all(".seat-row", map).forEach(function (r) { r.hidden = !r.querySelector(".seat-block:not([hidden])"); });
    all(".seat-zone", map).forEach(function (zone) { zone.hidden = !zone.querySelector(".seat-row:not([hidden])"); });
    all(".overview-section", overview).forEach(function (b) {
      b.setAttribute("aria-pressed", shown.indexOf(b.getAttribute("data-section")) >= 0 ? "true" : "false");
    });
    var first = window_[0], last = window_[window_.length - 1];
    var hall = first.getAttribute("data-hall-section");  // the floor or balcony, if the hall has them
    caption.textContent = (hall ? hall + " · " : "") + overview.getAttribute("data-caption-template")
      .replace("{grade}", first.getAttribute("data-grade")).replace("{first}", first.getAttribute("data-first"))
      .replace("{last}", first.getAttribute("data-last")).replace("{start}", first.getAttribute("data-start"))
      .replace("{end}", last.getAttribute("data-end"));
  }
  function firstSection() {
    var checked = seats().filter(function (b) { return b.checked; })[0];
    if (checked) return checked.getAttribute("data-section");
    // The front zone with a free seat, its section nearest the middle.
    var zones = all(".overview-zone", overview);
    for (var z = 0; z < zones.length; z++) {
      var buttons = all(".overview-section", zones[z]);
      var middle = (buttons.length - 1) / 2, best = null;
      buttons.forEach(function (b, i) {
        if (parseInt(b.querySelector("[data-free-count]").textContent, 10) > 0 &&
            (best === null || Math.abs(i - middle) < Math.abs(best[0] - middle))) best = [i, b];
      });
      if (best) return best[1].getAttribute("data-section");
    }
    return all(".overview-section", overview)[0].getAttribute("data-section");
  }
  if (overview) {
    overview.hidden = false;
    caption.hidden = false;
    map.classList.add("is-zoomed");
    // Measured while every block is still shown: the widest block.
    blockWidth = all(".seat-block", map).reduce(function (w, b) { return Math.max(w, b.offsetWidth); }, 0);
    overview.addEventListener("click", function (event) {
      var button = event.target.closest(".overview-section");
      if (!button) return;
      var key = button.getAttribute("data-section");
      showSection(key, true);
      var target = seats().filter(function (b) { return b.getAttribute("data-section") === key; })[0];
      if (target) rove(target, false);
    });
    centre = firstSection();
    showSection(centre, true);
    var resized = null;
    window.addEventListener("resize", function () {
      clearTimeout(resized);
      resized = setTimeout(function () {
        var focus = current && shown.indexOf(current.getAttribute("data-section")) >= 0 ? current.getAttribute("data-section") : null;
        showSection(focus || shown[Math.floor(shown.length / 2)], true);
      }, 150);
    });
  }

  /* Roving tabindex across the grid. */
  var current = null;
  function rove(input, focus) {
    if (current && current !== input) current.tabIndex = -1;
    current = input;
    input.tabIndex = 0;
    if (focus) { showSection(input.getAttribute("data-section")); input.focus(); }
  }
  function visible(input) { return !input.closest("[hidden]"); }
  function initialRove(section) {
    var free = seats();
    free.forEach(function (b) { b.tabIndex = -1; });
    var start = free.filter(function (b) { return b.checked && visible(b); })[0] ||
      free.filter(function (b) { return b.getAttribute("data-section") === section; })[0] || free.filter(visible)[0];
    if (start) rove(start, false);
    else current = null;
  }
  function rowOf(input) { return input.closest(".seat-row"); }
  function freeIn(row) { return all("input[name=seat_ids]:not(:disabled)", row); }
  function nearest(list, number) {
    return list.reduce(function (best, b) {
      var d = Math.abs(parseInt(b.getAttribute("data-number"), 10) - number);
      return best === null || d < best[0] ? [d, b] : best;
    }, null)[1];
  }
  form.addEventListener("focusin", function (event) {
    if (event.target.name === "seat_ids") rove(event.target, false);
  });
  form.addEventListener("keydown", function (event) {
    var input = event.target;
    if (input.name !== "seat_ids") return;
    if (event.key === "Enter") { event.preventDefault(); input.click(); return; }
    var row = rowOf(input), inRow = freeIn(row), i = inRow.indexOf(input), target = null;
    if (event.key === "ArrowRight") target = inRow[i + 1];
    else if (event.key === "ArrowLeft") target = inRow[i - 1];
    else if (event.key === "Home") target = inRow[0];
    else if (event.key === "End") target = inRow[inRow.length - 1];
    else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      var rows = all(".seat-row", map), r = rows.indexOf(row), step = event.key === "ArrowUp" ? -1 : 1;
      var number = parseInt(input.getAttribute("data-number"), 10);
      for (r += step; r >= 0 && r < rows.length && !target; r += step) {
        var free = freeIn(rows[r]);
        // Stay in this section when the next row has a free seat in it.
        var same = free.filter(function (b) { return b.getAttribute("data-section") === input.getAttribute("data-section"); });
        if (free.length) target = nearest(same.length ? same : free, number);
      }
    } else return;
    event.preventDefault();
    if (target) rove(target, true);
  });
  initialRove(centre);

  /* Live refresh. */
  var url = form.getAttribute("data-live-url");
  var every = parseFloat(form.getAttribute("data-poll-seconds")) * 1000;
  var etag = null;
  function fill(template, value) { return template.replace("{n}", value).replace("{seats}", value); }
  function markTaken(input) {
    var seat = input.closest(".seat");
    input.disabled = true;
    seat.classList.add("taken");
    seat.title = input.getAttribute("data-label") + " · " + form.getAttribute("data-taken-text");
    seat.querySelector(".visually-hidden").textContent = input.getAttribute("data-label") + " " + form.getAttribute("data-taken-text");
  }
  var SEAT_DATA = ["data-price", "data-label", "data-grade", "data-number", "data-section"];
  function markFree(seat) {
    var input = seat.querySelector("input[name=seat_ids]");
    if (!input) {  // drawn taken by the server: give it its checkbox
      input = document.createElement("input");
      input.type = "checkbox";
      input.name = "seat_ids";
      input.value = seat.getAttribute("data-seat-id");
      SEAT_DATA.forEach(function (name) { input.setAttribute(name, seat.getAttribute(name)); });
      var label = document.createElement("label");
      label.className = "seat grade-" + seat.getAttribute("data-grade");
      label.appendChild(input);
      while (seat.firstChild) label.appendChild(seat.firstChild);
      seat.parentNode.replaceChild(label, seat);
      seat = label;
    }
    var text = [input.getAttribute("data-label"), input.getAttribute("data-grade"), won(parseInt(input.getAttribute("data-price"), 10))];
    input.disabled = false;
    input.tabIndex = -1;
    seat.classList.remove("taken");
    seat.title = text.join(" · ");
    seat.querySelector(".visually-hidden").textContent = text.join(" ");
  }
  function recount() {
    var bySection = {}, byGrade = {};
    seats().forEach(function (b) {
      var s = b.getAttribute("data-section"), g = b.getAttribute("data-grade");
      bySection[s] = (bySection[s] || 0) + 1;
      byGrade[g] = (byGrade[g] || 0) + 1;
    });
    if (overview) all(".overview-section", overview).forEach(function (button) {
      var n = bySection[button.getAttribute("data-section")] || 0, text = button.querySelector("[data-free-text]");
      button.querySelector("[data-free-count]").textContent = n;
      text.textContent = fill(text.getAttribute("data-template"), n);
    });
    all("[data-grade-left]").forEach(function (el) {
      el.textContent = fill(el.getAttribute("data-template"), byGrade[el.getAttribute("data-grade-left")] || 0);
    });
  }
  function apply(list) {
    var status = {};
    list.forEach(function (seat) { status[String(seat.id)] = seat.status; });
    var lost = [];
    seats().forEach(function (input) {
      if (status[input.value] === "AVAILABLE") return;
      if (input.checked) { input.checked = false; lost.push(input.getAttribute("data-label")); }
      markTaken(input);
      if (input === current) current = null;
    });
    // A hold that ran out or was released gives its seats back.
    all(".seat.taken", map).forEach(function (seat) {
      var input = seat.querySelector("input[name=seat_ids]");
      if (status[input ? input.value : seat.getAttribute("data-seat-id")] === "AVAILABLE") markFree(seat);
    });
    if (!current) initialRove();
    recount();
    if (lost.length) {
      updates.textContent = fill(form.getAttribute("data-gone-text"), lost.join(", "));
      update(null);
    }
  }
  function poll() {
    if (document.hidden) { setTimeout(poll, every); return; }
    var headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    var stop = false;
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: headers })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) { stop = true; return null; }
        if (response.status !== 200) return null;
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (list) { if (list) apply(list); })
      .catch(function () { /* offline for a moment: ask again next time */ })
      .then(function () { if (!stop) setTimeout(poll, every); });
  }
  if (url && every > 0 && window.fetch) setTimeout(poll, every);
  update(null);
})();

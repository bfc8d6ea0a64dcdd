// The sales dashboard of a show (reservations.admin): reload its numbers every few seconds.
// The server renders them (the same template as the page): this only swaps them in.
(function () {
  "use strict";
  const board = document.getElementById("sales-dashboard");
  if (!board) return;
  const url = board.dataset.fragmentUrl;
  const seconds = Number(board.dataset.refreshSeconds) || 5;
  let busy = false;

  async function reload() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      // A lapsed login answers the login page: keep the last numbers rather than show it here.
      if (answer.ok && !answer.redirected) board.innerHTML = await answer.text();
    } catch (error) {
      // Offline for a moment: the next tick tries again.
    } finally {
      busy = false;
    }
  }

  setInterval(reload, seconds * 1000);
})();

// When the session ends (the night is over, or nothing was done for a while) the page says
// so at once and offers to sign in again, instead of going quietly stale.
function sessionEnded() {
  const banner = document.getElementById("session-ended");
  if (banner && banner.hidden) {
    banner.hidden = false;
    banner.querySelector("a").focus();
  }
}
(function () {
  const banner = document.getElementById("session-ended");
  if (!banner) return;
  const seconds = Number(banner.dataset.seconds || 0);
  setTimeout(sessionEnded, Math.max(0, seconds) * 1000 + 1000);
})();

// The queue refreshes its rows by itself and says aloud when a referral arrives. Without
// JavaScript the page still works: reload it.
(function () {
  const table = document.querySelector("table[data-refresh]");
  if (!table) return;
  const every = Math.max(1, Number(table.dataset.seconds || 10)) * 1000;
  const arrivals = document.getElementById("arrivals");
  const ids = () => new Set([...table.querySelectorAll("tr[data-referral]")].map((r) => r.dataset.referral));
  async function refresh() {
    try {
      // a keyboard user inside the list keeps their place: refresh once they leave it
      if (document.activeElement && document.activeElement.closest("#queue-rows")) return;
      const before = ids();
      const answer = await fetch(table.dataset.refresh, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "X-PSS-Automatic": "1" }, // a refresh keeps nobody's session alive
      });
      if (answer.redirected || answer.status === 401) return sessionEnded();
      if (!answer.ok) return;
      // the counts and the rows come together, so they never disagree
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      for (const id of ["queue-counts", "queue-rows"]) {
        const part = fresh.getElementById(id);
        if (part) document.getElementById(id)?.replaceWith(document.adoptNode(part));
      }
      const arrived = [...ids()].filter((id) => !before.has(id));
      if (arrived.length && arrivals) {
        arrivals.textContent = arrived.map((id) => arrivals.dataset.message.replace("{id}", id.slice(0, 8))).join(". ");
      }
    } catch (e) {
      // the network blinked: try again at the next tick
    } finally {
      if (document.getElementById("session-ended")?.hidden !== false) setTimeout(refresh, every);
    }
  }
  setTimeout(refresh, every);
})();

// Refreshes the live picture about once a second and the LED board texts every few seconds.
// A board that is down shows "down" and why, never its last text: nobody can count on it showing that.
"use strict";
(function () {
  const img = document.getElementById("live-picture");
  const missing = document.getElementById("live-missing");
  img.addEventListener("error", () => { img.hidden = true; missing.hidden = false; });
  img.addEventListener("load", () => { img.hidden = false; missing.hidden = true; });
  setInterval(() => { img.src = withCamera("/api/snapshot.jpg?t=" + Date.now()); }, 1000);
  const boards = document.getElementById("boards");
  if (!boards) return;
  setInterval(async () => {
    const r = await api("GET", "/api/boards");
    if (!r.ok) return;
    boards.replaceChildren(...Object.entries(r.data.boards).map(([name, text]) => {
      const health = (r.data.health || {})[name] || {};
      const tr = document.createElement("tr");
      const th = document.createElement("th"); th.textContent = name;
      const td = document.createElement("td");
      if (health.state === "down") {
        td.className = "board-down";
        const badge = document.createElement("span"); badge.className = "health health-down"; badge.textContent = t("down");
        const why = document.createElement("span"); why.className = "muted";
        why.textContent = ` ${health.detail || t("unreachable")}; ${t("what it shows is not known")}`;
        td.append(badge, why);
      } else { td.className = "board"; td.textContent = text; }
      tr.append(th, td); return tr;
    }));
  }, 3000);
})();

// The warning screen: polls its stream once a second and redraws. No login, no other requests.
"use strict";

function item(v) {
  const li = document.createElement("li");
  const img = document.createElement("img");
  img.src = v.picture;
  img.alt = v.crosswalk + " " + v.time;
  const caption = document.createElement("span");
  caption.textContent = v.time;
  li.append(img, caption);
  li.dataset.id = v.id;
  return li;
}

async function refresh() {
  try {
    const answer = await fetch("/api/screen", {cache: "no-store"});
    if (!answer.ok) return;
    const data = await answer.json();
    const signals = document.getElementById("signals");
    signals.replaceChildren(...data.signals.map((s) => {
      const div = document.createElement("div");
      div.className = "signal " + s.state;
      div.dataset.crosswalk = s.crosswalk;
      div.textContent = s.text;
      return div;
    }));
    const warning = document.getElementById("warning");
    warning.textContent = data.warning;
    warning.hidden = !data.warning;
    document.getElementById("today").textContent = data.today;
    const list = document.getElementById("violations");
    const ids = data.recent.map((v) => v.id).join(",");
    if (list.dataset.ids !== ids) {
      list.replaceChildren(...data.recent.map(item));
      list.dataset.ids = ids;
    }
    document.getElementById("none").hidden = data.recent.length > 0;
    document.body.dataset.ready = "1";
  } catch (e) {
    // the box is restarting: keep what is shown and try again
  }
}

refresh();
setInterval(refresh, 1000);

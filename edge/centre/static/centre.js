// The centre's pages: login, overview (with commands), review queue. Same session and CSRF as the box UI.
"use strict";

// The page's language: t("text {n}", {n: 3}) is the translation of "text {n}" with {n} filled in (as on the box).
const I18N = JSON.parse((document.getElementById("i18n-messages") || { textContent: "{}" }).textContent || "{}");
function t(text, values) {
  const found = I18N[text] || text;
  return found.replace(/\{(\w+)\}/g, (whole, key) => (values && key in values ? String(values[key]) : whole));
}

function csrf() {
  const m = document.cookie.match(/(?:^|; )cg_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function api(path, options = {}) {
  const opts = { credentials: "same-origin", ...options, headers: { ...(options.headers || {}) } };
  if (opts.body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-CSRF-Token"] = csrf();
    opts.body = JSON.stringify(opts.body);
  }
  const r = await fetch(path, opts);
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new Error((data && data.detail) || r.statusText);
  return data;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (cls) td.className = cls;
  return td;
}

function login() {
  document.getElementById("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("/api/login", { method: "POST", body: {
        name: document.getElementById("name").value, password: document.getElementById("password").value } });
      const next = new URLSearchParams(location.search).get("next") || "/";
      location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (err) {
      document.getElementById("login-error").textContent = err.message;
    }
  });
}

async function command(box, name, value) {
  const status = document.getElementById("command-status");
  const reason = document.getElementById("command-reason").value;
  status.textContent = t("sending {name} {value} to {box}…", { name, value, box });
  try {
    const r = await api("/api/commands", { method: "POST", body: { box, command: name, value, reason } });
    const outcome = r.answer.ok ? t("done") : t("refused: {error}", { error: r.answer.error });
    status.textContent = `${box}: ${name} ${value}: ${outcome}`;
  } catch (err) {
    status.textContent = `${box}: ${name} ${value}: ${err.message}`;
  }
}

async function overview() {
  const sites = await api("/api/sites");
  const body = document.querySelector("#sites tbody");
  const commands = document.getElementById("command-status") !== null;
  body.replaceChildren();
  for (const s of sites) {
    const row = body.insertRow();
    row.dataset.box = s.box;
    cell(row, s.name); cell(row, s.box); cell(row, t(s.availability)); cell(row, s.status_time);
    cell(row, s.enforcement_enabled === false ? t("OFF") : s.enforcement_enabled ? t("on") : null);
    cell(row, s.today_crossings); cell(row, s.today_violations);
    cell(row, s.alarms.join("; "), s.alarms.length ? "alarm" : "");
    if (commands) {
      const td = row.insertCell();
      for (const [name, value, label] of [["enforcement", "off", t("Enforcement off")],
                                          ["enforcement", "on", t("Enforcement on")], ["mute", "on", t("Mute")],
                                          ["mute", "off", t("Unmute")], ["test", "all", t("Test devices")]]) {
        const b = document.createElement("button");
        b.type = "button"; b.textContent = label; b.dataset.command = `${name}-${value}`;
        b.addEventListener("click", () => command(s.box, name, value));
        td.append(b);
      }
    }
  }
  const map = document.getElementById("map");
  if (map && window.L && !map.dataset.drawn) {
    map.dataset.drawn = "1";
    const placed = sites.filter((s) => s.latitude !== null && s.longitude !== null);
    const m = L.map(map).setView(placed.length ? [placed[0].latitude, placed[0].longitude] : [0, 0], placed.length ? 13 : 2);
    L.tileLayer(map.dataset.tiles, { maxZoom: 19 }).addTo(m);
    for (const s of placed) {
      L.marker([s.latitude, s.longitude]).addTo(m).bindPopup(
        t("{name}: {availability}, today {violations}/{crossings}", { name: s.name, availability: t(s.availability),
          violations: s.today_violations, crossings: s.today_crossings }));
    }
  }
}

let selected = null;

async function loadQueue() {
  const q = new URLSearchParams({ state: document.getElementById("f-state").value,
    site: document.getElementById("f-site").value, day: document.getElementById("f-day").value });
  const items = await api(`/api/review?${q}`);
  const body = document.querySelector("#queue tbody");
  body.replaceChildren();
  for (const u of items) {
    const row = body.insertRow();
    row.dataset.event = u.event_id;
    cell(row, u.entry_time); cell(row, `${u.site}/${u.camera}`); cell(row, u.crosswalk); cell(row, `${u.box} #${u.seq}`);
    cell(row, t(u.review_state) + (u.reviewer ? ` (${u.reviewer}${u.review_reason ? ": " + u.review_reason : ""})` : ""));
    row.addEventListener("click", () => open(u.event_id, row));
  }
}

async function open(eventId, row) {
  document.querySelectorAll("#queue tr.selected").forEach((r) => r.classList.remove("selected"));
  row.classList.add("selected");
  selected = eventId;
  const item = await api(`/api/review/${eventId}`);
  document.getElementById("detail").hidden = false;
  document.getElementById("detail-title").textContent = t("{crossing} {crosswalk} at {time}",
    { crossing: `${item.site}/${item.camera}`, crosswalk: item.crosswalk, time: item.entry_time });
  const pictures = document.getElementById("pictures");
  pictures.replaceChildren();
  for (const f of item.manifest.files) {
    if (f.path.endsWith(".jpg") && f.path in item.files) {
      const img = document.createElement("img");
      img.src = `/api/review/${eventId}/files/${f.path}`; img.alt = f.path;
      pictures.append(img);
    }
  }
  document.getElementById("review-status").textContent =
    item.review_state === "new" ? "" : t("already {state}", { state: t(item.review_state) });
}

async function decide(state) {
  const status = document.getElementById("review-status");
  try {
    const r = await api(`/api/review/${selected}`, { method: "POST",
      body: { state, reason: document.getElementById("reason").value } });
    status.textContent = t("{state} by {reviewer}", { state: t(r.review_state), reviewer: r.reviewer });
    await loadQueue();
  } catch (err) {
    status.textContent = err.message;
  }
}

function review() {
  document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); loadQueue(); });
  document.getElementById("confirm").addEventListener("click", () => decide("confirmed"));
  document.getElementById("reject").addEventListener("click", () => decide("rejected"));
  loadQueue();
}

document.getElementById("logout")?.addEventListener("click", async () => {
  await api("/api/logout", { method: "POST", body: {} }).catch(() => null);
  location.assign("/login");
});

const page = document.body.dataset.page;
if (page === "login") login();
if (page === "centre_overview") { overview(); setInterval(overview, 15000); }
if (page === "centre_review") review();

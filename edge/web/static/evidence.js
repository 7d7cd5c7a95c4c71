// The review page: only reasons that fit the decision can be picked; keys for the whole review;
// after a decision the next undecided event opens.
"use strict";
(function () {
  const form = document.getElementById("review-form");
  const decision = document.getElementById("decision");
  const reason = document.getElementById("reason");
  const note = document.getElementById("note");
  const fitting = JSON.parse(document.getElementById("fitting-reasons").textContent);
  function fillReasons() {
    const wanted = fitting[decision.value] || [];
    reason.disabled = wanted.length === 0;
    reason.replaceChildren(...(wanted.length ? wanted : [""]).map((value) => {
      const o = document.createElement("option");
      o.value = value; o.textContent = value ? t(value) : "— " + t("choose a decision first") + " —"; return o;
    }));
  }
  decision.addEventListener("change", fillReasons);
  fillReasons();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { state: decision.value, reason: reason.value, note: note.value };
    const r = await api("POST", `/api/evidence/${encodeURIComponent(form.dataset.event)}/review`, body);
    if (r.ok) { location.assign(form.dataset.next); return; }
    const out = document.getElementById("review-result");
    out.className = "error";
    out.textContent = detailText(r);
  });

  // Zoom: the sheet or any picture, full screen in a dialog (Esc closes it).
  const zoom = document.getElementById("zoom");
  const zoomImage = document.getElementById("zoom-image");
  function openZoom(src) { zoomImage.src = src; zoom.showModal(); }
  document.querySelectorAll(".zoom-open").forEach((b) => b.addEventListener("click", () => openZoom(b.dataset.src)));
  document.getElementById("zoom-close").addEventListener("click", () => zoom.close());
  zoom.addEventListener("click", (event) => { if (event.target === zoom || event.target === zoomImage) zoom.close(); });

  function choose(value) {
    decision.value = value;
    fillReasons();
    if (value === "confirmed") document.getElementById("record-decision").focus();
    else reason.focus();
  }
  function go(id) { const a = document.getElementById(id); if (a) location.assign(a.href); }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || zoom.open) return;
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
    if (typing) return;
    const actions = {
      c: () => choose("confirmed"), r: () => choose("rejected"),
      z: () => { const b = document.querySelector(".sheet .zoom-open") || document.querySelector(".zoom-open"); if (b) openZoom(b.dataset.src); },
      j: () => go("next-event"), k: () => go("previous-event"),
    };
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });
})();

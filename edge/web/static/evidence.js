// Confirm or reject one violation; only reasons that fit the decision can be picked; the page reloads after.
"use strict";
(function () {
  const form = document.getElementById("review-form");
  const decision = document.getElementById("decision");
  const reason = document.getElementById("reason");
  const fitting = JSON.parse(document.getElementById("fitting-reasons").textContent);
  function fillReasons() {
    const wanted = fitting[decision.value] || [];
    reason.disabled = wanted.length === 0;
    reason.replaceChildren(...(wanted.length ? wanted : [""]).map((value) => {
      const o = document.createElement("option");
      o.value = value; o.textContent = value || "— choose a decision first —"; return o;
    }));
  }
  decision.addEventListener("change", fillReasons);
  fillReasons();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = (name) => form.elements.namedItem(name).value;
    const body = { state: field("state"), reason: field("reason"), note: field("note") };
    const r = await api("POST", `/api/evidence/${encodeURIComponent(form.dataset.event)}/review`, body);
    if (r.ok) { location.reload(); return; }
    const out = document.getElementById("review-result");
    out.className = "error";
    out.textContent = detailText(r);
  });
})();

// Confirm or reject one violation; the page reloads to show the new state and audit rows.
"use strict";
document.getElementById("review-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const field = (name) => form.elements.namedItem(name).value;
  const body = { state: field("state"), reason: field("reason"), note: field("note") };
  const r = await api("POST", `/api/evidence/${encodeURIComponent(form.dataset.event)}/review`, body);
  if (r.ok) { location.reload(); return; }
  const out = document.getElementById("review-result");
  out.className = "error";
  out.textContent = r.data && typeof r.data.detail === "string" ? r.data.detail : "refused: HTTP " + r.status;
});

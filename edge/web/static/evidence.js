// Confirm or reject one violation; the page reloads to show the new state and audit rows.
"use strict";
document.getElementById("review-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { state: form.state.value, reason: form.reason.value, note: form.note.value };
  const r = await api("POST", `/api/evidence/${encodeURIComponent(form.dataset.event)}/review`, body);
  if (r.ok) { location.reload(); return; }
  const out = document.getElementById("review-result");
  out.className = "error";
  out.textContent = r.data && typeof r.data.detail === "string" ? r.data.detail : "refused: HTTP " + r.status;
});

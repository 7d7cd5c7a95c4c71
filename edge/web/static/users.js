// Admin form to add an account.
"use strict";
document.getElementById("add-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { name: form.name.value, role: form.role.value, password: form.password.value };
  const r = await api("POST", "/api/users", body);
  const out = document.getElementById("add-user-result");
  if (r.ok) { location.reload(); return; }
  out.className = "error";
  out.textContent = r.data && typeof r.data.detail === "string" ? r.data.detail : "refused: HTTP " + r.status;
});

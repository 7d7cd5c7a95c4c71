// Admin form to add an account.
"use strict";
document.getElementById("add-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = (name) => event.target.elements.namedItem(name).value;  // form.name is the form's own name
  const body = { name: field("name"), role: field("role"), password: field("password") };
  const r = await api("POST", "/api/users", body);
  const out = document.getElementById("add-user-result");
  if (r.ok) { location.reload(); return; }
  out.className = "error";
  out.textContent = r.data && typeof r.data.detail === "string" ? r.data.detail : "refused: HTTP " + r.status;
});

// Admin account management: add, change role, disable/enable, new password, delete.
"use strict";
function detail(r) {
  return r.data && typeof r.data.detail === "string" ? r.data.detail : "refused: HTTP " + r.status;
}
document.getElementById("add-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = (name) => event.target.elements.namedItem(name).value;  // form.name is the form's own name
  const body = { name: field("name"), role: field("role"), password: field("password") };
  const r = await api("POST", "/api/users", body);
  const out = document.getElementById("add-user-result");
  if (r.ok) { location.reload(); return; }
  out.className = "error";
  out.textContent = detail(r);
});

const out = document.getElementById("users-result");
async function change(row, method, what, body, done) {
  const r = await api(method, "/api/users/" + encodeURIComponent(row.dataset.name) + what, body);
  if (r.ok && done) { out.className = "ok"; out.textContent = done; return; }
  if (r.ok) { location.reload(); return; }
  out.className = "error";
  out.textContent = row.dataset.name + ": " + detail(r);
}
const table = document.getElementById("users");
table.addEventListener("change", (event) => {
  if (!event.target.classList.contains("user-role")) return;
  const row = event.target.closest("tr");
  change(row, "PUT", "/role", { role: event.target.value });
});
table.addEventListener("click", (event) => {
  const row = event.target.closest("tr");
  if (!row || !row.dataset.name) return;
  const name = row.dataset.name;
  if (event.target.classList.contains("user-toggle")) {
    change(row, "PUT", "/disabled", { disabled: !row.classList.contains("disabled") });
  } else if (event.target.classList.contains("user-delete")) {
    if (confirm("Delete the account " + name + "? Its sessions end at once.")) change(row, "DELETE", "");
  } else if (event.target.classList.contains("user-reset")) {
    const input = row.querySelector(".user-password");
    change(row, "PUT", "/password", { password: input.value }, name + ": new password set; their sessions ended");
    input.value = "";
  }
});

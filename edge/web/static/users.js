// Admin account management: add, change role, disable/enable, new password, delete.
// Destructive changes ask first; a refusal shows the server's reason and puts the control back.
"use strict";
document.getElementById("add-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = (name) => event.target.elements.namedItem(name).value;  // form.name is the form's own name
  const body = { name: field("name"), role: field("role"), password: field("password") };
  const r = await api("POST", "/api/users", body);
  const out = document.getElementById("add-user-result");
  if (r.ok) { location.reload(); return; }
  out.className = "error";
  out.textContent = detailText(r);
});

const out = document.getElementById("users-result");
async function change(row, method, what, body, done) {
  const r = await api(method, "/api/users/" + encodeURIComponent(row.dataset.name) + what, body);
  if (r.ok && done) { out.className = "ok"; out.textContent = done; return true; }
  if (r.ok) { location.reload(); return true; }
  out.className = "error";
  out.textContent = row.dataset.name + ": " + detailText(r);
  return false;
}
const table = document.getElementById("users");
table.addEventListener("change", async (event) => {
  if (!event.target.classList.contains("user-role")) return;
  const select = event.target;
  const row = select.closest("tr");
  const before = row.dataset.role;
  const question = before === "admin"
    ? t("Take admin rights from {name} and make them {role}?", { name: row.dataset.name, role: t(select.value) })
    : t("Give {name} the role {role} (now {before})?", { name: row.dataset.name, role: t(select.value), before: t(before) });
  if (!confirm(question) || !(await change(row, "PUT", "/role", { role: select.value }))) {
    select.value = before;  // refused or cancelled: show the role the account really has
  }
});
table.addEventListener("click", (event) => {
  const row = event.target.closest("tr");
  if (!row || !row.dataset.name) return;
  const name = row.dataset.name;
  if (event.target.classList.contains("user-toggle")) {
    const disabling = !row.classList.contains("disabled");
    if (disabling && !confirm(t("Disable {name}? They are logged out at once and cannot log in.", { name }))) return;
    change(row, "PUT", "/disabled", { disabled: disabling });
  } else if (event.target.classList.contains("user-delete")) {
    if (confirm(t("Delete the account {name}? Its sessions end at once.", { name }))) change(row, "DELETE", "");
  } else if (event.target.classList.contains("user-reset")) {
    const input = row.querySelector(".user-password");
    change(row, "PUT", "/password", { password: input.value }, t("{name}: new password set; their sessions ended", { name }));
    input.value = "";
  }
});

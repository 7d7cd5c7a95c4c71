// Shared helper: JSON calls to the UI's API carrying the CSRF token (double-submit with the cookie).
"use strict";
// The page's language: t("text {n}", {n: 3}) is the translation of "text {n}" with {n} filled in.
const I18N = JSON.parse((document.getElementById("i18n-messages") || { textContent: "{}" }).textContent || "{}");
function t(text, values) {
  const found = I18N[text] || text;
  return found.replace(/\{(\w+)\}/g, (whole, key) => (values && key in values ? String(values[key]) : whole));
}
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}
// The camera a page shows (?camera=, a site with several), carried on to the API calls it makes.
function withCamera(url) {
  const camera = new URLSearchParams(location.search).get("camera");
  return camera ? url + (url.includes("?") ? "&" : "?") + "camera=" + encodeURIComponent(camera) : url;
}
document.addEventListener("DOMContentLoaded", () => {
  const select = document.getElementById("camera-select");
  if (select) select.addEventListener("change", () => select.form.submit());
});
async function api(method, url, body) {
  const options = { method, headers: { "X-CSRF-Token": csrfToken() }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return { ok: response.ok, status: response.status, data };
}
// The server's reason for a refusal, in words: a message, or the fields a 422 names with what is wrong.
function detailText(r) {
  const detail = r.data && r.data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail.map((e) => {
      const field = (e.loc || []).filter((p) => p !== "body").join(".");
      return (field ? field + ": " : "") + String(e.msg || "").replace(/^Value error, /, "");
    }).join("; ");
  }
  return t("refused: HTTP {status}", { status: r.status });
}

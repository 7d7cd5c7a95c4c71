// Shared helper: JSON calls to the UI's API carrying the CSRF token (double-submit with the cookie).
"use strict";
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

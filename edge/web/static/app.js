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
// The camera a page shows (?camera=, else the one last picked: a site with several), carried on to
// the API calls it makes.
function withCamera(url) {
  const camera = new URLSearchParams(location.search).get("camera") || document.body.dataset.camera;
  return camera ? url + (url.includes("?") ? "&" : "?") + "camera=" + encodeURIComponent(camera) : url;
}
// A UTC epoch time as a date and time in the page's language (Intl's CLDR data, as the server's Babel),
// in the site's time zone (the page's data-timezone) unless another is named.
function dateTimeText(seconds, timeZone) {
  const zone = timeZone || document.body.dataset.timezone || "UTC";
  const format = new Intl.DateTimeFormat(document.documentElement.lang || "en",
    { dateStyle: "medium", timeStyle: "medium", timeZone: zone });
  return format.format(new Date(seconds * 1000));
}
// A table cell with the site's local time and the UTC time under it, as the server's pages show them.
function timeCell(seconds) {
  const td = document.createElement("td");
  const utc = document.createElement("span");
  utc.className = "muted";
  utc.textContent = dateTimeText(seconds, "UTC") + " UTC";
  td.append(dateTimeText(seconds), document.createElement("br"), utc);
  return td;
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

// Device test buttons: one POST per device, result shown beside it.
"use strict";
document.querySelectorAll("button.test-device").forEach((button) => {
  button.addEventListener("click", async () => {
    const name = button.dataset.device;
    const cell = document.getElementById("result-" + name);
    cell.textContent = "testing…";
    button.disabled = true;
    const r = await api("POST", "/api/devices/test", { device: name });
    button.disabled = false;
    if (!r.ok) { cell.textContent = (r.data && r.data.detail) || ("failed: HTTP " + r.status); return; }
    cell.textContent = r.data.map((t) => `${t.success ? "ok" : "FAILED"}` +
      (t.latency_s != null ? ` in ${(t.latency_s * 1000).toFixed(0)} ms` : "") + (t.detail ? ` (${t.detail})` : "")).join("; ");
  });
});

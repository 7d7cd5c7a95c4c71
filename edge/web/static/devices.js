// Device test buttons: one POST per device, result shown beside it.
"use strict";
document.querySelectorAll("button.test-device").forEach((button) => {
  button.addEventListener("click", async () => {
    const name = button.dataset.device;
    const cell = document.getElementById("result-" + name);
    cell.textContent = t("testing…");
    button.disabled = true;
    const r = await api("POST", "/api/devices/test", { device: name });
    button.disabled = false;
    if (!r.ok) { cell.textContent = detailText(r); return; }
    cell.textContent = r.data.map((x) => (x.success ? t("ok") : t("FAILED")) +
      (x.latency_s != null ? " " + t("in {ms} ms", { ms: (x.latency_s * 1000).toFixed(0) }) : "") +
      (x.detail ? ` (${x.detail})` : "")).join("; ");
  });
});

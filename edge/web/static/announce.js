// The devices page's announcement form: POST /api/announce, show where it was queued or why it was refused.
"use strict";
document.getElementById("announce").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = document.getElementById("announce-result");
  result.textContent = "…";
  const r = await api("POST", "/api/announce", {
    text: document.getElementById("announce-text").value,
    language: document.getElementById("announce-language").value,
    urgent: document.getElementById("announce-urgent").checked,
  });
  result.textContent = r.ok
    ? t("queued on {speakers}", { speakers: r.data.speakers.join(", ") })
    : t("refused: {reason}", { reason: detailText(r) });
});

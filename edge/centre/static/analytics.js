// Compliance charts (Chart.js, vendored) and the before/after comparison.
"use strict";

const charts = {};

async function drawChart(by) {
  const data = await api(`/api/compliance?by=${by}`);
  const canvas = document.getElementById(`chart-${by}`);
  charts[by]?.destroy();
  charts[by] = new Chart(canvas, {
    type: "bar",
    data: { labels: data.rows.map((r) => r.key),
            datasets: [{ label: t("violations ÷ crossings"), data: data.rows.map((r) => r.rate) }] },
    options: { animation: false, scales: { y: { beginAtZero: true } } },
  });
  canvas.dataset.points = String(data.rows.length);
}

async function beforeAfter(e) {
  e.preventDefault();
  const q = new URLSearchParams({ date: document.getElementById("ba-date").value, days: document.getElementById("ba-days").value });
  const r = await api(`/api/compliance/before-after?${q}`);
  const body = document.querySelector("#ba-result tbody");
  body.replaceChildren();
  for (const label of ["before", "after"]) {
    const row = body.insertRow();
    cell(row, t(label)); cell(row, r[label].crossings); cell(row, r[label].violations);
    cell(row, r[label].rate === null ? null : (100 * r[label].rate).toFixed(1) + " %");
  }
}

for (const by of ["crossing", "hour", "weekday", "week"]) drawChart(by);
document.getElementById("before-after").addEventListener("submit", beforeAfter);

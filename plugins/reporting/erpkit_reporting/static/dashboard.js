// Draws the dashboard's charts from the JSON block the page carries (no inline script:
// the console's Content-Security-Policy forbids them). Each chart's figures are also in
// the table beside it.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  const charts = source ? JSON.parse(source.textContent) : [];
  for (const chart of charts) {
    const canvas = document.getElementById(chart.id);
    if (!canvas) { continue; }
    new Chart(canvas, {
      type: chart.type,
      data: {labels: chart.labels,
             datasets: [{label: "Revenue", data: chart.values.map(Number)}]},
      options: {maintainAspectRatio: false, animation: false,
                indexAxis: chart.horizontal ? "y" : "x",
                plugins: {legend: {display: chart.type === "doughnut"}}},
    });
  }
  document.body.dataset.chartsReady = "yes";
})();

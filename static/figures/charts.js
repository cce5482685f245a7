/* Draws every <canvas data-chart="name"> from the JSON in #figure-charts with Chart.js
   (static/vendor/chartjs-*), so the pages need no inline script. The tables beside each chart
   carry the same numbers for screen readers and for anyone without JavaScript. */
(function () {
  "use strict";
  var source = document.getElementById("figure-charts");
  if (!source || typeof window.Chart === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  var palette = ["#1f5fa8", "#c2571a", "#2f8a4c", "#7a4ab3", "#b3314a", "#5a6b7b", "#a88a1f"];
  var language = document.documentElement.lang || undefined;
  window.odrCharts = [];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = charts[canvas.getAttribute("data-chart")];
    if (!spec) { return; }
    var datasets = spec.datasets.map(function (dataset, index) {
      var colour = spec.datasets.length > 1 ? palette[index % palette.length] : palette[0];
      return { label: dataset.label, data: dataset.data, backgroundColor: colour, borderColor: colour };
    });
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        locale: language,
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: spec.datasets.length > 1, position: "bottom" } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
    canvas.setAttribute("data-drawn", "true");
    window.odrCharts.push(chart);
  });
}());

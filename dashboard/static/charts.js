/* The growth chart: one line per channel, human clicks or conversions.
   Data comes from the page itself (#growth-data), never from elsewhere. */
(function () {
  "use strict";
  var canvas = document.getElementById("growth-chart");
  var source = document.getElementById("growth-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#2c55d8", "#16a37f", "#e0802b", "#c13d7a", "#7b52d9", "#1e8fc7",
                 "#8a9a1f", "#d04b3f", "#4d5a73", "#b58900"];

  function datasets(metric) {
    return data.series.map(function (s, i) {
      var color = s.channel === "(direct)" ? "#9aa3b2" : palette[i % palette.length];
      return {
        label: s.channel,
        data: s[metric],
        borderColor: color,
        backgroundColor: color,
        borderWidth: 2,
        pointRadius: data.labels.length > 40 ? 0 : 2.5,
        pointHoverRadius: 4,
        tension: 0.25
      };
    });
  }

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#5d6677";
  var chart = new Chart(canvas, {
    type: "line",
    data: { labels: data.labels, datasets: datasets("human_clicks") },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxTicksLimit: 8, maxRotation: 0 } },
        y: { beginAtZero: true, grid: { color: "#eef0f4" }, ticks: { precision: 0 } }
      },
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true, pointStyleWidth: 9, boxHeight: 7 } }
      }
    }
  });

  document.querySelectorAll("button[data-metric]").forEach(function (button) {
    button.addEventListener("click", function () {
      document.querySelectorAll("button[data-metric]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
      chart.data.datasets = datasets(button.getAttribute("data-metric"));
      chart.update();
    });
  });
})();

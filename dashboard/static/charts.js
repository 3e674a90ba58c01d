/* The dashboard's charts, drawn by the vendored Chart.js. Each chart's data
   comes from the page itself, in a <script type="application/json"> block
   named by the canvas's data-chart (or data-growth) attribute: nothing is
   fetched, and no inline script runs. The same numbers are in the table
   beside every chart. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#2c55d8", "#16a37f", "#e0802b", "#c13d7a", "#7b52d9", "#1e8fc7",
                 "#8a9a1f", "#d04b3f", "#4d5a73", "#b58900"];
  var grey = "#9aa3b2";

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#5d6677";
  Chart.defaults.animation = false;

  function read(id) {
    var source = id && document.getElementById(id);
    if (!source) { return null; }
    try { return JSON.parse(source.textContent); } catch (e) { return null; }
  }

  function grouped(value) {
    return Number(value).toLocaleString("en-US", {maximumFractionDigits: 2});
  }

  function tickFormat(axis, currency) {
    if (axis === "percent") {
      return function (value) { return grouped(value * 100) + " %"; };
    }
    if (axis === "money") {
      return function (value) { return grouped(value) + (currency ? " " + currency : ""); };
    }
    return function (value) { return grouped(value); };
  }

  function tooltipValue(axis, currency) {
    var format = tickFormat(axis, currency);
    return function (item) {
      var raw = item.raw;
      if (raw === null || raw === undefined) { return item.dataset.label + ": none"; }
      if (Array.isArray(raw)) {
        return item.dataset.label + ": " + format(raw[0]) + " to " + format(raw[1]);
      }
      return item.dataset.label + ": " + format(raw);
    };
  }

  var legend = {position: "bottom", labels: {usePointStyle: true, pointStyleWidth: 9, boxHeight: 7}};

  /* A chart described by the page: {type, labels, datasets: [{label, data,
     color, kind}], axis: number | money | percent, currency}. A dataset of
     kind "mark" is drawn as a mark on the bars (a rate on its interval),
     one of kind "bar" as bars under lines. */
  function draw(canvas, spec) {
    var datasets = spec.datasets.map(function (d, i) {
      var color = d.color || palette[i % palette.length];
      var set = {label: d.label, data: d.data, borderColor: color, backgroundColor: color};
      if (d.kind === "mark") {
        set.type = "line";
        set.showLine = false;
        set.pointStyle = "rectRot";
        set.pointRadius = 7;
        set.pointHoverRadius = 8;
        set.order = 0;
      } else if (d.kind === "bar") {
        set.type = "bar";
        set.order = 2;
        set.backgroundColor = color + "99";
      } else if (spec.type === "line") {
        set.borderWidth = 2;
        set.pointRadius = spec.labels.length > 40 ? 0 : 2.5;
        set.order = 1;
      } else {
        set.borderWidth = 0;
        set.borderRadius = 3;
        set.order = 1;
        set.grouped = !spec.datasets.some(function (o) { return o.kind === "mark"; });
      }
      return set;
    });
    return new Chart(canvas, {
      type: spec.type,
      data: {labels: spec.labels, datasets: datasets},
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          // bars name every channel (turned if need be); lines skip dates
          x: {grid: {display: false},
              ticks: spec.type === "bar" ? {autoSkip: false, maxRotation: 50}
                                         : {maxTicksLimit: 10, maxRotation: 0, autoSkip: true}},
          y: {beginAtZero: true, grid: {color: "#eef0f4"},
              ticks: {callback: tickFormat(spec.axis, spec.currency), maxTicksLimit: 6,
                      precision: spec.axis === "number" ? 0 : undefined}}
        },
        plugins: {
          legend: legend,
          tooltip: {callbacks: {label: tooltipValue(spec.axis, spec.currency)}}
        }
      }
    });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = read(canvas.getAttribute("data-chart"));
    if (spec) { draw(canvas, spec); }
  });

  /* Growth: one line per channel, human clicks or conversions, switched by
     the buttons that name the chart (data-for). */
  document.querySelectorAll("canvas[data-growth]").forEach(function (canvas) {
    var data = read(canvas.getAttribute("data-growth"));
    if (!data) { return; }
    function datasets(metric) {
      return data.series.map(function (s, i) {
        var color = s.channel === "(direct)" ? grey : palette[i % palette.length];
        return {
          label: s.channel,
          data: s[metric],
          borderColor: color,
          backgroundColor: color,
          borderWidth: 2,
          pointRadius: data.labels.length > 40 ? 0 : 2.5,
          pointHoverRadius: 4
        };
      });
    }
    var chart = new Chart(canvas, {
      type: "line",
      data: {labels: data.labels, datasets: datasets("human_clicks")},
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {grid: {display: false}, ticks: {maxTicksLimit: 8, maxRotation: 0}},
          y: {beginAtZero: true, grid: {color: "#eef0f4"}, ticks: {precision: 0}}
        },
        plugins: {legend: legend}
      }
    });
    var buttons = document.querySelectorAll("button[data-metric][data-for='" + canvas.id + "']");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        chart.data.datasets = datasets(button.getAttribute("data-metric"));
        chart.update();
      });
    });
  });
})();

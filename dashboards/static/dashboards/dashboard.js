/* Dashboard charts: uPlot (vendored) draws the volume series from the JSON data block. */
(function () {
  "use strict";
  var PALETTE = ["#1f4fbf", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#2c3e50", "#b7950b", "#e84393"];

  function draw() {
    var holder = document.getElementById("volume-chart");
    var dataEl = document.getElementById("dash-chart-data");
    if (!holder || !dataEl || typeof uPlot === "undefined") return;
    var data = JSON.parse(dataEl.textContent);
    var vol = data.volume;
    var xs = vol.days.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
    var keys = Object.keys(vol.series);
    var series = [{}];
    var columns = [xs];
    keys.forEach(function (k, i) {
      series.push({ label: k, stroke: PALETTE[i % PALETTE.length], width: 2 });
      columns.push(vol.series[k]);
    });
    var width = Math.max(320, holder.clientWidth || 800);
    holder.textContent = "";
    new uPlot({ width: width, height: 240, series: series, axes: [{}, { label: "incidents" }], scales: { x: { time: true } } }, columns, holder);
  }

  function drawBars() {
    var dataEl = document.getElementById("dash-chart-data");
    if (!dataEl || typeof uPlot === "undefined") return;
    var bars = JSON.parse(dataEl.textContent).bars || {};
    document.querySelectorAll("[data-bars]").forEach(function (holder) {
      var spec = bars[holder.getAttribute("data-bars")];
      if (!spec) return;
      var xs = spec.labels.map(function (_, i) { return i; });
      var width = Math.max(280, Math.min(holder.clientWidth || 600, 720));
      holder.textContent = "";
      new uPlot({
        width: width,
        height: 180,
        legend: { show: false },
        scales: { x: { time: false, range: [-0.5, xs.length - 0.5] } },
        axes: [
          { values: function (u, ticks) { return ticks.map(function (t) { return spec.labels[t] !== undefined && t === Math.round(t) ? spec.labels[t] : ""; }); }, splits: function () { return xs; } },
          { label: spec.label },
        ],
        series: [{}, { label: spec.label, fill: "rgba(31, 79, 191, 0.6)", stroke: "#1f4fbf", paths: uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false } }],
      }, [xs, spec.values], holder);
    });
  }

  function drawAll() { draw(); drawBars(); }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();

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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();

// sweep dashboard: draws each chart described in #dashboard-data with the vendored ECharts.
// The numbers come from the same tables the page prints under each chart; text goes in as data
// (ECharts renders labels on canvas; tooltips are built here from escaped text), never as HTML.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") return;
  var charts = JSON.parse(source.textContent || "{}");

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function option(spec) {
    var category = { type: "category", data: spec.categories, axisLabel: { hideOverlap: true } };
    var value = { type: "value", minInterval: 1 };
    var series = spec.series.map(function (s) {
      return { name: s.name, type: spec.line ? "line" : "bar", data: s.data, stack: spec.stack ? "all" : undefined };
    });
    return {
      animation: false,
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var list = Array.isArray(items) ? items : [items];
          var head = list.length ? escapeHtml(list[0].axisValueLabel || list[0].name) : "";
          return head + list.map(function (p) {
            return "<br>" + escapeHtml(p.seriesName) + "：" + escapeHtml(p.value);
          }).join("");
        }
      },
      legend: { type: "scroll", top: 0 },
      grid: { left: spec.horizontal ? 160 : 48, right: 24, top: 36, bottom: 32 },
      xAxis: spec.horizontal ? value : category,
      yAxis: spec.horizontal ? Object.assign({}, category, { inverse: true }) : value,
      series: series
    };
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (el) {
    var spec = charts[el.getAttribute("data-chart")];
    if (!spec || !spec.series.length) return;
    var rows = spec.categories.length;
    el.style.height = (spec.horizontal ? Math.max(200, 28 * rows + 60) : 320) + "px";
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(spec));
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();

// sweep workspace: keyboard navigation, selection, and the CSRF header for htmx requests.
// No inline script anywhere (the CSP forbids it); everything here attaches to data in the page.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf;
  });

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.lead")); }
  function focused() { return document.querySelector("tr.lead.focus"); }
  function focusRow(row) {
    rows().forEach(function (r) { r.classList.remove("focus"); });
    if (row) { row.classList.add("focus"); row.scrollIntoView({ block: "nearest" }); }
  }
  function move(step) {
    var all = rows(); if (!all.length) return;
    var i = all.indexOf(focused());
    focusRow(all[Math.max(0, Math.min(all.length - 1, i + step))] || all[0]);
  }
  function countSelected() {
    var n = document.querySelectorAll('tr.lead input[name="lead_ids"]:checked').length;
    var out = document.getElementById("selected-count"); if (out) out.textContent = String(n);
    rows().forEach(function (r) {
      var box = r.querySelector('input[name="lead_ids"]');
      r.classList.toggle("selected", !!(box && box.checked));
    });
    return n;
  }
  function ensureSelection() {
    if (countSelected() === 0 && focused()) {
      var box = focused().querySelector('input[name="lead_ids"]'); if (box) box.checked = true;
      countSelected();
    }
  }
  function bulk(action, value) {
    var form = document.getElementById("bulk"); if (!form) return;
    ensureSelection();
    var sel = form.querySelector('input[name="target"][value="selection"]'); if (sel) sel.checked = true;
    form.querySelector('select[name="action"]').value = action;
    if (action === "status") form.querySelector('select[name="status"]').value = value;
    if (action === "assign") { var me = form.querySelector('select[name="assignee"] option[selected]'); if (me) form.querySelector('select[name="assignee"]').value = me.value; }
    var button = document.getElementById("bulk-preview-button"); if (button) button.click();
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "lead_ids") countSelected();
  });
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr.lead");
    if (row) focusRow(row);
  });
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) return;
    var row = focused();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x": if (row) { var box = row.querySelector('input[name="lead_ids"]'); box.checked = !box.checked; countSelected(); } break;
      case "o": case "Enter": if (row) { var link = row.querySelector("a.open"); if (link) window.location.href = link.href; } break;
      case "a": bulk("assign"); break;
      case "t": bulk("status", "triaged"); break;
      case "e": bulk("dismiss"); break;
      case "/": var q = document.getElementById("q"); if (q) { q.focus(); q.select(); } break;
      default: return;
    }
    event.preventDefault();
  });
  document.addEventListener("DOMContentLoaded", function () { countSelected(); });
})();

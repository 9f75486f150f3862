// Firebreak page behaviour: CSRF for htmx, keyboard shortcuts, local times.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { evt.detail.headers["X-CSRFToken"] = meta.content; }
  });

  // Global shortcuts; pages register their own with data-shortcut="key".
  document.addEventListener("keydown", function (evt) {
    var t = evt.target;
    if (evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    if (evt.key === "?") {
      var help = document.getElementById("shortcut-help");
      if (help) { help.hidden = !help.hidden; evt.preventDefault(); }
      return;
    }
    if (evt.key === "/") {
      var search = document.querySelector("[data-search]");
      if (search) { search.focus(); evt.preventDefault(); }
      return;
    }
    var el = document.querySelector('[data-shortcut="' + CSS.escape(evt.key) + '"]');
    if (el) { evt.preventDefault(); el.click(); }
  });

  // Deadlines and SLA clocks: <time class="countdown" data-deadline data-warn data-state>,
  // on any page (queue rows, the incident page, the SLA panel), ticking every second.
  function fmt(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) { return d + "d " + h + "h"; }
    if (h) { return h + "h " + (m < 10 ? "0" : "") + m + "m"; }
    return m + "m " + (s % 60 < 10 ? "0" : "") + (s % 60) + "s";
  }

  function countdowns() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[data-deadline]").forEach(function (el) {
      var due = Date.parse(el.dataset.deadline);
      if (isNaN(due)) { return; }
      var left = due - now;
      var state = el.dataset.state || "running";
      // An SLA clock says when its warning starts (data-warn); other deadlines warn in the last hour.
      var warn = el.dataset.warn ? Date.parse(el.dataset.warn) : due - 3600 * 1000;
      var breached = state === "breached" || (state === "running" && left < 0);
      var warning = !breached && state === "running" && now >= warn;
      el.classList.toggle("sla-paused", state === "paused");
      el.classList.toggle("sla-met", state === "met");
      el.classList.toggle("sla-breach", breached);
      el.classList.toggle("sla-warn", warning);
      el.classList.toggle("sla-ok", state === "running" && !breached && !warning);
      if (state === "paused") { el.textContent = "paused"; return; }
      if (state === "met") { el.textContent = "met"; return; }
      el.textContent = left < 0 ? "overdue " + fmt(left) : fmt(left) + " left";
    });
  }

  window.Firebreak = window.Firebreak || {};
  window.Firebreak.countdowns = countdowns;
  document.addEventListener("DOMContentLoaded", function () {
    countdowns();
    window.setInterval(countdowns, 1000);
  });
})();

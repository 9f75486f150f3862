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
})();

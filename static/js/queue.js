// Triage queue: j/k selection, Enter to open, a/s/t/x actions, bulk assign, live rows
// polled with If-None-Match (a 304 leaves the table alone); countdowns run in app.js.
(function () {
  "use strict";
  var selectedId = null;
  var bulk = new Set();

  function tbody() { return document.getElementById("queue-rows"); }
  function rows() { var t = tbody(); return t ? Array.prototype.slice.call(t.querySelectorAll("tr[data-id]")) : []; }
  function current() { return selectedId ? document.getElementById("inc-" + selectedId) : null; }

  function paint() {
    rows().forEach(function (row) {
      var on = row.dataset.id === selectedId;
      row.classList.toggle("selected", on);
      row.setAttribute("aria-selected", on ? "true" : "false");
      var box = row.querySelector("input.bulk");
      if (box) { box.checked = bulk.has(row.dataset.id); row.classList.toggle("bulk-on", box.checked); }
    });
    var form = document.getElementById("bulk-bar");
    if (form) {
      form.querySelectorAll("input[name=ids]").forEach(function (el) { el.remove(); });
      bulk.forEach(function (id) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = "ids"; input.value = id;
        form.appendChild(input);
      });
      var count = document.getElementById("bulk-count");
      if (count) { count.textContent = bulk.size + " selected"; }
    }
  }

  function select(row) {
    if (!row) { return; }
    selectedId = row.dataset.id;
    paint();
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    var index = list.indexOf(current());
    var next = index < 0 ? 0 : Math.min(list.length - 1, Math.max(0, index + step));
    select(list[next]);
  }

  function openTriage(row, focus) {
    if (!row || !window.htmx) { return; }
    window.htmx.ajax("GET", row.dataset.triage + "?focus=" + focus, { target: "#triage-panel", swap: "innerHTML" });
  }

  function closeTriage() {
    var panel = document.getElementById("triage-panel");
    if (panel) { panel.innerHTML = ""; }
    var row = current();
    if (row) { row.focus({ preventScroll: true }); }
  }

  document.addEventListener("keydown", function (evt) {
    var t = evt.target;
    if (evt.key === "Escape" && document.querySelector("#triage-panel .triage")) { closeTriage(); evt.preventDefault(); return; }
    if (evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    if (t && /^(BUTTON|A)$/.test(t.tagName) && (evt.key === "Enter" || evt.key === " ")) { return; }
    var row = current();
    switch (evt.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter": if (row) { window.location.href = row.dataset.href; } else { return; } break;
      case "a": if (row) { var b = row.querySelector("[data-action=assign]"); if (b) { b.click(); } } break;
      case "s": openTriage(row, "severity"); break;
      case "t": openTriage(row, "status"); break;
      case "x":
        if (!row) { return; }
        if (bulk.has(row.dataset.id)) { bulk.delete(row.dataset.id); } else { bulk.add(row.dataset.id); }
        paint();
        break;
      default: return;
    }
    evt.preventDefault();
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (!(target instanceof Element)) { return; }
    if (target.closest("[data-action=close-triage]")) { closeTriage(); return; }
    var row = target.closest("#queue-rows tr[data-id]");
    if (!row) { return; }
    if (target.matches("input.bulk")) {
      if (target.checked) { bulk.add(row.dataset.id); } else { bulk.delete(row.dataset.id); }
    }
    select(row);
    if (target.closest("[data-action=triage]")) { openTriage(row, "severity"); }
  });

  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.id === "queue-rows" && elt.dataset.etag) {
      evt.detail.headers["If-None-Match"] = elt.dataset.etag;
    }
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status === 304) { evt.detail.shouldSwap = false; return; }
    // A signed-out session answers with the login page: go there rather than swap it in.
    if (/\/accounts\/login\//.test(evt.detail.xhr.responseURL || "")) {
      evt.detail.shouldSwap = false;
      window.location.assign("/accounts/login/?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      return;
    }
    if (status === 409 || status === 422) { evt.detail.shouldSwap = true; evt.detail.isError = false; }
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail.target;
    if (!target) { return; }
    if (target.id === "triage-panel") {
      var panel = target.querySelector(".triage");
      if (panel) {
        var input = panel.querySelector(panel.dataset.focus === "status" ? "#triage-to" : "#triage-severity");
        if (input) { input.focus(); }
      }
    }
    paint();
    if (window.Firebreak) { window.Firebreak.countdowns(); }
  });

  document.addEventListener("queue-changed", function (evt) {
    if (evt.target instanceof Element && evt.target.closest("#bulk-bar")) {
      bulk.clear();
      paint();
      // Hand the keyboard back to the queue, so j/k/Enter act on rows, not on the button.
      if (document.activeElement instanceof HTMLElement && document.activeElement.closest("#bulk-bar")) { document.activeElement.blur(); }
    }
  });

})();

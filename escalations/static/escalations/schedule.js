// Schedule page: pick an override's span on the timeline instead of typing it.
// Drag across day cells to pick whole days, or drag a shift onto the form (or focus a
// shift and press Enter) to cover exactly that shift. The form below stays the one place
// that submits, so the keyboard path and the server's validation are the same.
(function () {
  "use strict";
  const table = document.querySelector("#timeline.can-override");
  const form = document.getElementById("override-form");
  if (!table || !form) return;
  const start = form.querySelector("#id_start");
  const end = form.querySelector("#id_end");
  const who = form.querySelector("#id_user");
  const status = document.getElementById("override-picked");
  const days = Array.from(table.querySelectorAll("thead th[data-day-start]"));

  function pretty(value) {
    return value.replace("T", " ");
  }

  function fill(from, to, what) {
    start.value = from;
    end.value = to;
    status.textContent = "Override span picked" + (what ? " (" + what + ")" : "") + ": " + pretty(from) + " to " + pretty(to) + ". Choose who covers.";
    form.classList.add("picked");
    form.scrollIntoView({ block: "center" });
    who.focus();
  }

  // --- whole days by dragging across cells -------------------------------------------
  let anchor = null;
  function column(cell) {
    return cell ? cell.cellIndex - 1 : -1; // the first column is the layer name
  }
  function mark(a, b) {
    const lo = Math.min(a, b), hi = Math.max(a, b);
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.from(row.cells).forEach(function (cell, i) {
        cell.classList.toggle("picking", i - 1 >= lo && i - 1 <= hi);
      });
    });
  }
  function clearMarks() {
    table.querySelectorAll("td.picking").forEach(function (cell) { cell.classList.remove("picking"); });
  }
  table.addEventListener("pointerdown", function (event) {
    const cell = event.target.closest("tbody td");
    if (!cell || event.target.closest(".shift") || event.button !== 0) return;
    anchor = column(cell);
    mark(anchor, anchor);
    event.preventDefault();
  });
  table.addEventListener("pointerover", function (event) {
    if (anchor === null) return;
    const cell = event.target.closest("tbody td");
    if (cell) mark(anchor, column(cell));
  });
  document.addEventListener("pointerup", function (event) {
    if (anchor === null) return;
    const cell = event.target.closest && event.target.closest("#timeline tbody td");
    const last = cell ? column(cell) : anchor;
    const lo = Math.min(anchor, last), hi = Math.max(anchor, last);
    anchor = null;
    if (lo < 0 || hi >= days.length) { clearMarks(); return; }
    fill(days[lo].dataset.dayStart, days[hi].dataset.dayEnd, hi > lo ? (hi - lo + 1) + " days" : "1 day");
  });

  // --- one shift: drag it onto the form, or Enter on it ------------------------------
  table.addEventListener("dragstart", function (event) {
    const shift = event.target.closest(".shift[data-start]");
    if (!shift) return;
    event.dataTransfer.setData("application/x-firebreak-shift", JSON.stringify({ start: shift.dataset.start, end: shift.dataset.end, user: shift.dataset.user }));
    event.dataTransfer.setData("text/plain", shift.dataset.user + " " + pretty(shift.dataset.start) + " to " + pretty(shift.dataset.end));
    event.dataTransfer.effectAllowed = "copy";
    form.classList.add("drop-target");
  });
  table.addEventListener("dragend", function () { form.classList.remove("drop-target"); });
  form.addEventListener("dragover", function (event) {
    if (Array.from(event.dataTransfer.types).includes("application/x-firebreak-shift")) event.preventDefault();
  });
  form.addEventListener("drop", function (event) {
    const raw = event.dataTransfer.getData("application/x-firebreak-shift");
    if (!raw) return;
    event.preventDefault();
    form.classList.remove("drop-target");
    const shift = JSON.parse(raw);
    clearMarks();
    fill(shift.start, shift.end, "covering " + shift.user);
  });
  table.addEventListener("keydown", function (event) {
    const shift = event.target.closest(".shift[data-start]");
    if (!shift || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    clearMarks();
    fill(shift.dataset.start, shift.dataset.end, "covering " + shift.dataset.user);
  });
})();

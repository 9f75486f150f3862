// Incident page and intake: conditional polling (304 keeps the DOM), 409/422 answers
// shown in place, per-channel intake fields, c/g shortcuts (countdowns run in app.js).
(function () {
  "use strict";
  var etags = {};

  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (evt.detail.verb === "get" && elt && elt.id && etags[elt.id + evt.detail.path]) {
      evt.detail.headers["If-None-Match"] = etags[elt.id + evt.detail.path];
    }
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt, xhr = evt.detail.xhr;
    var tag = xhr && xhr.getResponseHeader("ETag");
    if (tag && elt && elt.id && evt.detail.requestConfig && evt.detail.requestConfig.verb === "get") {
      etags[elt.id + evt.detail.requestConfig.path] = tag;
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

  function syncChannel() {
    var select = document.getElementById("id_channel");
    if (!select) { return; }
    document.querySelectorAll(".channel-fields[data-channel]").forEach(function (box) {
      box.hidden = box.dataset.channel.split(" ").indexOf(select.value) < 0;
    });
  }

  document.addEventListener("change", function (evt) {
    if (evt.target && evt.target.id === "id_channel") { syncChannel(); }
  });

  document.addEventListener("keydown", function (evt) {
    var t = evt.target;
    if (evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    if (t && /^(BUTTON|A)$/.test(t.tagName) && (evt.key === "Enter" || evt.key === " ")) { return; }
    if (evt.key === "c") {
      var body = document.querySelector(".comment-form textarea");
      if (body) { body.focus(); evt.preventDefault(); }
    } else if (evt.key === "g") {
      window.location.href = "/";
    }
  });

  document.addEventListener("DOMContentLoaded", syncChannel);
})();

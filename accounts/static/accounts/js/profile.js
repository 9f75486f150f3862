// Profile page: copy a freshly created API token to the clipboard.
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector("[data-copy-status]");
    if (!source) { return; }
    var report = function (text) { if (status) { status.textContent = text; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { report("Copied."); },
        function () { report("Copying failed: select the token and copy it by hand."); }
      );
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      report("Selected: press Ctrl+C (or Cmd+C) to copy.");
    }
  });
})();

// Evidence forms: tell the reviewer at once when a chosen file is over the size limit
// (the server checks again, and checks the type from the content).
(function () {
  "use strict";
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input || input.type !== "file" || !input.dataset.maxBytes) { return; }
    var max = parseInt(input.dataset.maxBytes, 10);
    var file = input.files && input.files[0];
    if (file && max && file.size > max) {
      input.setCustomValidity("This file is " + file.size.toLocaleString() + " bytes; the limit is " + max.toLocaleString() + " bytes.");
      input.reportValidity();
    } else {
      input.setCustomValidity("");
    }
  });
})();

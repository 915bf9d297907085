// A read-only address field (calendar feeds, a guest's link) selects all of itself on a
// click, ready to copy.
(function () {
  "use strict";
  document.querySelectorAll("input[data-select-on-click]").forEach(function (input) {
    input.addEventListener("click", function () { input.select(); });
  });
})();

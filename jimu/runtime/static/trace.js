/* The trace screen: the print button (no inline handlers: the CSP forbids them). The
   genealogy graph itself is an ordinary .chart[data-chart] drawn by jimu.js. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest("[data-print]") : null;
    if (btn) { e.preventDefault(); window.print(); }
  });
})();

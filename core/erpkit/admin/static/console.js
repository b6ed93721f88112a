/* The console's own behaviour on every page (a file: the CSP allows no inline script).
   A table wider than the screen (a tablet in the warehouse, 800 px) scrolls inside its
   own box instead of widening the page: each table goes into Bootstrap's
   .table-responsive wrapper unless it already is in one. */
(function () {
  "use strict";
  document.querySelectorAll("main table.table").forEach(function (table) {
    var parent = table.parentNode;
    if (parent.classList && parent.classList.contains("table-responsive")) { return; }
    var box = document.createElement("div");
    box.className = "table-responsive";
    parent.insertBefore(box, table);
    box.appendChild(table);
  });
})();

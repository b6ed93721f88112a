/* The order form as fast as a person types: products searched as you type (SKU or
   name, through GET /api/products?q=), lines added and removed, each line checked on
   the server as it is typed (limits, packs, stock available), and a running total with
   discounts.
   The server checks everything again on save; without JavaScript the form still works
   with its plain drop-downs. No inline script: the page's CSP allows only files. */
(function () {
  "use strict";
  var form = document.getElementById("order-form");
  if (!form) { return; }
  var body = form.querySelector("tbody[data-lines]");
  var rowsField = form.querySelector("input[name=line_rows]");
  var totalBox = document.getElementById("running-total");
  var locale = document.documentElement.lang || "en-GB";
  var money = new Intl.NumberFormat(locale, {minimumFractionDigits: 2, maximumFractionDigits: 2});
  var products = {};  // id -> product as /api/products returns it

  function number(text) {
    var value = parseFloat(String(text || "").replace(",", "."));
    return isNaN(value) ? null : value;
  }

  // Each line checked on the server as it is typed (POST .../new/check): the same
  // rules as saving (limits, packs, stock available), nothing written. The newest
  // answer wins; an older one arriving late is dropped.
  var checkUrl = form.dataset.checkUrl;
  var csrf = document.querySelector("meta[name=csrf-token]");
  var summary = document.getElementById("order-check");
  var timer = null, asked = 0;

  function filledRows() {
    return Array.prototype.filter.call(body.querySelectorAll("tr[data-line]"), function (row) {
      // a line is checked once it names a product and a quantity
      return row.querySelector("[data-product]").value &&
        row.querySelector("input[data-quantity]").value.trim();
    });
  }

  function showMessages(row, messages) {
    var input = row.querySelector("input[data-quantity]");
    var note = row.querySelector("[data-limit]");
    var error = messages.some(function (m) { return m.severity === "error"; });
    note.textContent = messages.map(function (m) { return m.message; }).join("; ");
    note.classList.toggle("text-warning-dark", !error && messages.length > 0);
    input.setAttribute("aria-invalid", error ? "true" : "false");
    input.classList.toggle("is-invalid", error);
  }

  function checkOnServer() {
    if (!checkUrl) { return; }
    var rows = filledRows();
    var sent = ++asked;
    var customer = document.getElementById("customer_id");
    var payload = {channel: (document.getElementById("channel") || {}).value,
                   lines: rows.map(function (row) {
                     var line = {product_id: row.querySelector("[data-product]").value || null,
                                 quantity: row.querySelector("input[data-quantity]").value.trim()};
                     var discount = row.querySelector("input[data-discount]").value.trim();
                     if (discount) { line.discount_percent = discount; }
                     return line;
                   })};
    if (customer && customer.value) { payload.customer_id = customer.value; }
    fetch(checkUrl, {method: "POST", credentials: "same-origin",
                     headers: {"Content-Type": "application/json",
                               "X-CSRFToken": csrf ? csrf.content : ""},
                     body: JSON.stringify(payload)})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer || sent !== asked) { return; }
        body.querySelectorAll("tr[data-line]").forEach(function (row) {
          if (rows.indexOf(row) < 0) { showMessages(row, []); }
        });
        rows.forEach(function (row, index) {
          var line = answer.lines[index] || {messages: [], total: ""};
          showMessages(row, line.messages);
          if (line.total) { row.querySelector("[data-line-total]").textContent = line.total; }
        });
        if (answer.total) { totalBox.textContent = answer.total; }
        summary.textContent = answer.problems.map(function (m) { return m.message; }).join("; ");
        if (answer.discount && answer.discount !== money.format(0)) {
          summary.textContent = ("Before discounts " + answer.subtotal + ", discounts " +
                                 answer.discount + ". " + summary.textContent).trim();
        }
        form.dataset.checked = String(sent);
      });
  }

  function checkQuantity() {
    window.clearTimeout(timer);
    timer = window.setTimeout(checkOnServer, 250);
  }

  function updateTotal() {
    var total = 0;
    body.querySelectorAll("tr[data-line]").forEach(function (row) {
      var product = products[row.querySelector("[data-product]").value];
      var quantity = number(row.querySelector("input[data-quantity]").value) || 0;
      var discount = number(row.querySelector("input[data-discount]").value) || 0;
      var line = product ? quantity * number(product.unit_price) * (100 - discount) / 100 : 0;
      row.querySelector("[data-line-total]").textContent = product && quantity ? money.format(line) : "";
      total += line;
    });
    totalBox.textContent = money.format(total);
  }

  function remember(product) { products[String(product.id)] = product; }

  function fetchProduct(id) {
    if (!id || products[id]) { return Promise.resolve(); }
    return fetch("/api/products/" + encodeURIComponent(id), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) { if (p) { remember(p); } });
  }

  function label(product) { return product.sku + " " + product.name; }

  function enhance(row) {
    var select = row.querySelector("select[data-product]");
    if (select && window.jQuery && jQuery.fn.select2) {
      // select2 (bundled with Flask-Admin) on a hidden input: searched through the API.
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = select.name;
      hidden.value = select.value;
      hidden.setAttribute("data-product", "");
      var chosen = select.options[select.selectedIndex];
      var initial = select.value ? {id: select.value, text: chosen ? chosen.text : select.value} : null;
      select.parentNode.replaceChild(hidden, select);
      jQuery(hidden).select2({
        placeholder: "Search by SKU or name", allowClear: true, minimumInputLength: 1,
        width: "100%",
        ajax: {
          url: "/api/products", dataType: "json", quietMillis: 150,
          // fetch, not jQuery's ajax: no cache-busting "_" parameter, which the API's
          // strict query checking refuses.
          transport: function (params) {
            fetch(params.url + "?" + new URLSearchParams(params.data), {credentials: "same-origin"})
              .then(function (r) { return r.ok ? r.json() : {items: []}; })
              .then(params.success, params.error);
            return {abort: function () {}};
          },
          data: function (term) { return {q: term, active: "true", limit: 20}; },
          results: function (page) {
            page.items.forEach(remember);
            return {results: page.items.map(function (p) {
              return {id: String(p.id), text: label(p) + " · " + money.format(number(p.unit_price))};
            })};
          }
        },
        initSelection: function (element, callback) { callback(initial); }
      });
      if (initial) { jQuery(hidden).select2("val", initial.id); }
      jQuery(hidden).on("change", function () { checkQuantity(); updateTotal(); });
      var box = row.querySelector(".select2-container input.select2-focusser");
      if (box) { box.setAttribute("aria-label", hidden.getAttribute("data-label") || "Product"); }
      hidden.setAttribute("data-label", row.getAttribute("data-label"));
      fetchProduct(hidden.value).then(function () { checkQuantity(); updateTotal(); });
    } else if (select) {
      select.addEventListener("change", function () {
        fetchProduct(select.value).then(function () { checkQuantity(); updateTotal(); });
      });
      fetchProduct(select.value).then(updateTotal);
    }
    row.querySelectorAll("input[data-quantity], input[data-discount]").forEach(function (input) {
      input.addEventListener("input", function () { checkQuantity(); updateTotal(); });
    });
    var remove = row.querySelector("button[data-remove]");
    remove.addEventListener("click", function () {
      row.parentNode.removeChild(row);
      updateTotal();
      checkQuantity();
    });
  }

  body.querySelectorAll("tr[data-line]").forEach(enhance);

  document.getElementById("add-line").addEventListener("click", function () {
    var index = parseInt(rowsField.value, 10);
    var html = document.getElementById("line-template").innerHTML
      .replace(/__index__/g, String(index)).replace(/__number__/g, String(index + 1));
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var row = holder.querySelector("tr");
    body.appendChild(row);
    rowsField.value = String(index + 1);
    enhance(row);
    var focus = row.querySelector(".select2-focusser, select, input");
    if (focus) { focus.focus(); }
  });

  // What plugins show about the chosen customer (hook erpkit_orders_customer_panel).
  var customer = document.getElementById("customer_id");
  var panels = document.getElementById("customer-panels");
  customer.addEventListener("change", function () {
    fetch(panels.dataset.url + "?customer_id=" + encodeURIComponent(customer.value),
          {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { panels.innerHTML = html; });
    checkQuantity();
  });
  updateTotal();
})();

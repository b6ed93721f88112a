/* The delivery promise on the order form (logistics' slot of the orders module's form):
   as the customer and lines change, POST /api/promise/quote with the lines typed so far
   and show the date and its explanation, step by step. It reads the form only by its
   field names (customer_id, lines-N-product_id, lines-N-quantity), the same names the
   server reads on save, so it keeps working however the form is laid out. Nothing is
   saved or booked by a quote. No inline script: the page's CSP allows only files. */
(function () {
  "use strict";
  var panel = document.getElementById("promise-quote");
  var form = panel && panel.closest("form");
  if (!panel || !form) { return; }
  var summary = panel.querySelector("[data-promise-summary]");
  var table = panel.querySelector("[data-promise-steps]");
  var LINE = /^lines-(\d+)-product_id$/;
  var timer = null;
  var asked = 0;  // the newest request's number: older answers arriving late are dropped
  var last = "";

  function field(name) { return form.querySelector("[name='" + name + "']"); }

  function request() {
    var customer = field("customer_id");
    var lines = [];
    form.querySelectorAll("[name^='lines-']").forEach(function (input) {
      var match = LINE.exec(input.name);
      if (!match || !input.value) { return; }
      var quantity = field("lines-" + match[1] + "-quantity");
      var amount = quantity ? String(quantity.value).trim().replace(",", ".") : "";
      if (!/^\d+(\.\d+)?$/.test(amount) || Number(amount) <= 0) { return; }
      lines.push({product_id: Number(input.value), quantity: amount});
    });
    if (!customer || !/^\d+$/.test(customer.value) || !lines.length) { return null; }
    var body = {customer_id: Number(customer.value), lines: lines};
    if (panel.dataset.orderId) { body.order_id = Number(panel.dataset.orderId); }
    return body;
  }

  function show(text, steps) {
    summary.textContent = "";
    if (steps === null) {
      var hint = document.createElement("span");
      hint.className = "text-muted";
      hint.textContent = text;
      summary.appendChild(hint);
    } else {
      summary.appendChild(document.createTextNode("Delivered by "));
      var day = document.createElement("strong");
      day.textContent = text;
      summary.appendChild(day);
    }
    var rows = table.querySelector("tbody");
    rows.textContent = "";
    (steps || []).forEach(function (step) {
      var row = document.createElement("tr");
      [step.day, step.kind, step.text].forEach(function (value, n) {
        var cell = document.createElement("td");
        cell.textContent = value;
        if (n === 0) { cell.className = "text-nowrap"; }
        if (n === 1) { cell.className = "text-muted"; }
        row.appendChild(cell);
      });
      rows.appendChild(row);
    });
    table.hidden = !(steps && steps.length);
  }

  function refusal(answer) {
    var errors = (answer && answer.errors) || [];
    if (errors.length) {
      return errors.map(function (e) { return e.field + ": " + e.message; }).join("; ");
    }
    return (answer && answer.message) || "no promise could be worked out";
  }

  function quote() {
    var body = request();
    if (!body) {
      last = "";
      show("Choose a customer and products to see the delivery date.", null);
      return;
    }
    var key = JSON.stringify(body);
    if (key === last) { return; }
    last = key;
    var mine = ++asked;
    var token = field("csrf_token");
    panel.setAttribute("aria-busy", "true");
    fetch(panel.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": token ? token.value : ""},
      body: key
    }).then(function (r) {
      return r.json().then(function (answer) { return {ok: r.ok, answer: answer}; });
    }).then(function (result) {
      if (mine !== asked) { return; }
      if (result.ok) {
        show(result.answer.promised_date, result.answer.steps);
      } else {
        show("No delivery date: " + refusal(result.answer), null);
      }
    }).catch(function () {
      if (mine === asked) { last = ""; show("The delivery date could not be asked for.", null); }
    }).then(function () { if (mine === asked) { panel.removeAttribute("aria-busy"); } });
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(quote, 250);
  }

  function start() {
    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    // select2 (the product search) reports its choice through jQuery only.
    if (window.jQuery) { window.jQuery(form).on("change", soon); }
    // Lines removed or added by the form's own script change no field.
    new MutationObserver(function (changes) {
      if (changes.some(function (c) { return !panel.contains(c.target); })) { soon(); }
    }).observe(form, {childList: true, subtree: true});
    // Quote at once only when the page shows no server-rendered promise.
    if (table.hidden) { soon(); } else { last = JSON.stringify(request()); }
  }

  // After the page's other scripts (jQuery, the form's own) have run.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

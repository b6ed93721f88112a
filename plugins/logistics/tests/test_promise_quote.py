"""The promise quoted for lines not saved yet (``POST /api/v1/promise/quote``), and the
order form's promise panel that calls it. Calendars as in test_promise.py: Monday to
Friday in Bavaria; PX/standard, cut-off 16:00, 2 working days to DE; handling 0 days.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from erpkit_logistics import promise_quote
from erpkit_logistics.models import CapacityDay, OrderPromise
from erpkit_orders.models import Order

from .conftest import at, made_to_order


def body(world: Any, lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"customer_id": world.customer.id,
            "lines": [{"product_id": world.products[sku].id, "quantity": str(q)}
                      for sku, q in lines.items()], **extra}


def test_a_quote_explains_each_line_and_books_nothing(bavaria):
    made_to_order(bavaria)
    orders_before = bavaria.session.scalar(sa.select(sa.func.count()).select_from(Order))
    # Fri 4 Dec 10:00. W-1 from stock Fri 4; the 2 chairs made Fri 4, 3 working days:
    # ready Wed 9; handed over Wed 9; transit Thu 10, Fri 11.
    worked = promise_quote.quote(bavaria.session, body(bavaria, {"W-1": 1, "CHAIR": 2}),
                                 now=at("2026-12-04T10:00"))
    assert worked.promise.promised_date == date(2026, 12, 11)
    steps = [(s.kind, s.line, s.day) for s in worked.promise.steps]
    assert steps == [("goods", "W-1", date(2026, 12, 4)), ("goods", "CHAIR", date(2026, 12, 9)),
                     ("handling", None, date(2026, 12, 9)), ("cutoff", None, date(2026, 12, 9)),
                     ("transit", None, date(2026, 12, 11))]
    assert "(free capacity)" in worked.promise.steps[1].text
    bavaria.session.commit()
    assert bavaria.session.scalar(sa.select(sa.func.count()).select_from(CapacityDay)) == 0
    assert bavaria.session.scalar(sa.select(sa.func.count()).select_from(Order)) == orders_before
    assert bavaria.session.scalar(sa.select(sa.func.count()).select_from(OrderPromise)) == 0


def test_the_quote_over_http_names_what_it_refuses(bavaria, as_role):
    sales, warehouse = as_role("sales"), as_role("warehouse")
    three = body(bavaria, {"W-1": 3})
    express = body(bavaria, {"W-1": 3}, service="PX/express")
    bad_inputs = (({"customer_id": bavaria.customer.id, "lines": []}, "lines"),
                  (body(bavaria, {"W-1": 0}), "lines.0.quantity"),
                  ({"customer_id": 2**63, "lines": three["lines"]}, "customer_id"))
    bavaria.session.commit()  # SQLite: the test's open transaction would hold the lock
    answer = sales.post("/api/v1/promise/quote", json=three)
    assert answer.status_code == 200, answer.json
    assert answer.json["steps"][0]["line"] == "W-1"
    assert [s["kind"] for s in answer.json["steps"]] == ["goods", "handling", "cutoff",
                                                          "transit"]
    assert date.fromisoformat(answer.json["promised_date"]) >= date.today()
    # Another service named in the request: express has no transit time to DE, so the
    # default 3 days count.
    other = sales.post("/api/v1/promise/quote", json=express)
    assert other.status_code == 200, other.json
    assert "PX/express to zone DE: no transit time set" in other.json["steps"][-1]["text"]
    refused = sales.post("/api/v1/promise/quote", json={
        "customer_id": 999999, "lines": [{"product_id": 999999, "quantity": "1"}],
        "service": "NOPE/none"})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json["errors"]} == {
        "customer_id", "lines.0.product_id", "service"}
    for bad, field in bad_inputs:
        answer = sales.post("/api/v1/promise/quote", json=bad)
        assert answer.status_code == 422, (bad, answer.json)
        assert field in {e["field"] for e in answer.json["errors"]}
    assert warehouse.post("/api/v1/promise/quote", json=three).status_code == 403


def test_a_draft_being_edited_is_quoted_to_its_own_address(bavaria, as_role):
    munich = bavaria.order({"W-1": 1}, confirm=False)
    munich.ship_to_country, munich.ship_to_postal_code = "DE", "80331"
    munich.requested_date = date(2027, 3, 1)
    sales = as_role("sales")
    two = body(bavaria, {"W-1": 2}, order_id=munich.id)
    bavaria.session.commit()
    answer = sales.post("/api/v1/promise/quote", json=two)
    assert answer.status_code == 200, answer.json
    # The draft's Munich address (zone DE-80, no transit time: the default) and its
    # requested date count.
    assert "PX/standard to zone DE-80" in answer.json["steps"][3]["text"]
    assert answer.json["promised_date"] == "2027-03-01"
    assert answer.json["steps"][-1]["kind"] == "requested"


def test_the_order_form_has_the_promise_panel_and_its_script(bavaria, client, users):
    headers = users.headers("sales")
    draft = bavaria.order({"W-1": 2}, confirm=False)
    draft_id = draft.id
    bavaria.session.commit()
    new = client.get("/admin/orders/new", headers=headers)
    assert new.status_code == 200
    html = new.get_data(as_text=True)
    assert 'data-testid="promise-quote"' in html
    assert 'data-url="/api/promise/quote"' in html
    assert "Choose a customer and products to see the delivery date." in html
    script = '<script src="/logistics-assets/order_promise.js" nonce="'
    assert script in html
    nonce = html.split(script, 1)[1].split('"', 1)[0]
    assert f"'nonce-{nonce}'" in new.headers["Content-Security-Policy"]
    assert client.get("/logistics-assets/order_promise.js").status_code == 200
    # A saved draft's form shows its promise at once, step by step.
    edit = client.get(f"/admin/orders/{draft_id}/edit", headers=headers).get_data(as_text=True)
    assert f'data-order-id="{draft_id}"' in edit
    assert "W-1: from stock (no inventory kept), available" in edit
    assert "PX/standard to zone DE: 2 working day(s) in transit" in edit

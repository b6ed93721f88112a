"""The JSON API from a supplier to a received purchase order, with the mail to the
supplier (the order attached as a PDF) sent by the core's mail job through a real SMTP
server; transfers; spend; who may do what."""

from __future__ import annotations

import email
import io
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from pypdf import PdfReader

from erpkit.db import db, utcnow
from erpkit_inventory import replenishment
from erpkit_inventory.models import Warehouse
from erpkit_orders.models import Product


@pytest.fixture
def stocked(app):
    """MAIN and SHOP, a kettle K-1 to keep up to 25 in MAIN. In an app context of its own:
    the test's requests must not share a session that stays open."""
    with app.app_context():
        main = Warehouse(code="MAIN", name="Main")
        branch = Warehouse(code="SHOP", name="Shop")
        product = Product(sku="K-1", name="Kettle", unit_price=Decimal("20.00"))
        db.session.add_all([main, branch, product])
        db.session.flush()
        replenishment.set_rule(db.session, product.id, main.id, reorder_point=Decimal(0),
                               order_up_to=Decimal(25), lead_time_days=7)
        db.session.commit()


def pdf_text(message: str) -> tuple[str, str]:
    """(file name, text) of the one PDF attached to a received mail."""
    parsed = email.message_from_string(message, _class=EmailMessage, policy=default_policy)
    [attachment] = [part for part in parsed.iter_attachments()
                    if part.get_content_type() == "application/pdf"]
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    return attachment.get_filename(), "\n".join(page.extract_text() for page in reader.pages)


def test_from_a_supplier_to_a_received_purchase_order_over_http(as_role, smtp, worker,
                                                                stocked):
    buyer, keeper = as_role("purchasing"), as_role("warehouse")
    boss, viewer = as_role("admin"), as_role("analyst")
    made = buyer.post("/api/purchasing/suppliers", json={
        "code": "ACME", "name": "Acme Kettles", "email": "orders@acme.example",
        "contacts": [{"name": "Rita", "role": "sales", "email": "rita@acme.example"}]})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["contacts"][0]["name"] == "Rita"
    bad = buyer.put("/api/purchasing/suppliers/ACME/products",
                    json={"sku": "K-1", "price": "-1", "pack_size": "6"})
    assert bad.status_code == 422 and "price" in str(bad.get_json())
    offer = buyer.put("/api/purchasing/suppliers/ACME/products", json={
        "sku": "K-1", "price": "8.5000", "pack_size": "6", "min_order_quantity": "12",
        "lead_time_days": 4, "preferred": True})
    assert offer.status_code == 200, offer.get_json()
    assert viewer.post("/api/purchasing/orders/from-suggestions").status_code == 403

    [suggestion] = viewer.get("/api/purchasing/suggestions").get_json()["items"]
    assert (suggestion["supplier"], suggestion["quantity"]) == ("ACME", "30.000")
    [draft] = buyer.post("/api/purchasing/orders/from-suggestions").get_json()
    assert (draft["status"], draft["total"], draft["lines"][0]["quantity"]) == (
        "draft", "255.00", "30.000")
    order_url = f"/api/purchasing/orders/{draft['id']}"
    line_id = draft["lines"][0]["id"]

    assert buyer.post(f"{order_url}/send").status_code == 422  # not approved yet
    assert buyer.post(f"{order_url}/approve").status_code == 200  # 255.00: under 1000
    sent = buyer.post(f"{order_url}/send").get_json()
    assert sent["status"] == "sent"
    assert sent["lines"][0]["expected_on"] == (utcnow().date() + timedelta(days=4)).isoformat()
    [(to, message)] = smtp.wait_for(1)
    assert to == ["orders@acme.example"]
    assert f"Purchase order {draft['number']}" in message and "K-1" in message
    name, text = pdf_text(message)
    assert name == f"{draft['number']}.pdf"
    assert f"Purchase order {draft['number']}" in text and "Acme Kettles" in text
    # The line: SKU, product, quantity, unit price, amount, expected date; and the total.
    assert "K-1" in text and "Kettle" in text and "30" in text and "8.50" in text
    assert "255.00" in text and sent["lines"][0]["expected_on"] in text
    pdf = viewer.get(f"{order_url}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")

    assert buyer.post(f"{order_url}/receipts",
                      json={"line_id": line_id, "quantity": "1"}).status_code == 403
    first = keeper.post(f"{order_url}/receipts", json={"line_id": line_id, "quantity": "20"})
    assert first.status_code == 201, first.get_json()
    too_much = keeper.post(f"{order_url}/receipts", json={"line_id": line_id, "quantity": "11"})
    assert too_much.status_code == 422
    assert "10 outstanding, cannot receive 11" in str(too_much.get_json())
    [stock] = viewer.get("/api/inventory/availability?sku=K-1").get_json()["items"]
    assert (stock["on_hand"], stock["expected"]) == ("20.000", "10.000")
    assert buyer.get(f"{order_url}/receipts").get_json()["items"][0]["quantity"] == "20.000"

    assert buyer.put("/api/purchasing/routes", json={
        "warehouse": "SHOP", "source": "MAIN", "transfer_days": 1}).status_code == 200
    moved = keeper.post("/api/purchasing/transfers", json={
        "sku": "K-1", "source": "MAIN", "warehouse": "SHOP", "quantity": "4"})
    assert moved.status_code == 201 and moved.get_json()["status"] == "in_transit"
    arrived = keeper.post(f"/api/purchasing/transfers/{moved.get_json()['id']}/arrival")
    assert arrived.get_json()["status"] == "arrived"
    again = keeper.post(f"/api/purchasing/transfers/{moved.get_json()['id']}/arrival")
    assert again.status_code == 422
    plan = viewer.get("/api/purchasing/plan?central=MAIN").get_json()
    assert plan["central"] == "MAIN"

    today = utcnow().date().isoformat()
    spend = viewer.get(f"/api/purchasing/spend?first={today}&last={today}").get_json()
    assert spend == [{"supplier": "ACME", "period": today[:7], "amount": "170.00",
                      "receipts": 1}]
    assert buyer.post(f"{order_url}/close").get_json()["status"] == "closed"
    assert boss.get("/api/purchasing/orders").get_json()["items"][0]["status"] == "closed"


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/purchasing/suppliers", "/api/purchasing/orders/from-suggestions",
                 "/api/purchasing/orders/{order_id}/approve",
                 "/api/purchasing/orders/{order_id}/receipts", "/api/purchasing/transfers",
                 "/api/purchasing/spend"):
        # The document names the stable, versioned paths (/api/v1/...); /api/... are aliases.
        assert path.replace("/api/", "/api/v1/", 1) in paths, path

"""The order form's server-side check (POST /admin/orders/new/check): each line's limits,
packs and stock available, the same rules as saving, with totals after discounts, and
nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit.db import db

pytest.importorskip("erpkit_orders")
pytest.importorskip("erpkit_inventory")

from erpkit_inventory import stock
from erpkit_inventory.models import Warehouse
from erpkit_orders.catalogue import create_customer, create_product
from erpkit_orders.models import Order, TimelineEvent

from .helpers import csrf_meta_in


@pytest.fixture
def shop(app):
    """Lamps (at most 30 per order) and desks, 100 of each in stock; Ada Ltd."""
    with app.app_context():
        lamp = create_product(db.session, {"sku": "LAMP-1", "name": "Desk lamp",
                                           "unit_price": Decimal("30.00"),
                                           "max_quantity": Decimal(30)})
        desk = create_product(db.session, {"sku": "DESK-1", "name": "Standing desk",
                                           "unit_price": Decimal("400.00")})
        customer = create_customer(db.session, {"name": "Ada Ltd", "country": "GB"})
        main = Warehouse(code="MAIN", name="Main warehouse")
        db.session.add(main)
        db.session.flush()
        for product in (lamp, desk):
            stock.receive(db.session, product, main, 100, actor="setup")
        db.session.commit()
        return {"lamp": lamp.id, "desk": desk.id, "customer": customer.id}


def check(client, body):
    token = csrf_meta_in(client.get("/admin/orders/new").get_data(as_text=True))
    return client.post("/admin/orders/new/check", json=body, headers={"X-CSRFToken": token})


def test_each_line_is_checked_against_its_limit_and_the_stock_with_totals(app, console,
                                                                         shop):
    client = console("sam", "sales")
    answer = check(client, {"customer_id": shop["customer"], "lines": [
        {"product_id": shop["lamp"], "quantity": "40"},
        {"product_id": shop["desk"], "quantity": "150", "discount_percent": "10"},
        {"product_id": shop["lamp"], "quantity": "2"},
    ]})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    over, short, fine = body["lines"]
    assert [m["message"] for m in over["messages"]] == [
        "LAMP-1: at most 30 unit per order, got 40"]
    assert over["messages"][0]["severity"] == "error"
    assert short["messages"] == [{"field": "lines.1.quantity", "severity": "warning",
                                  "message": "DESK-1: 50 short (100 available, 150 ordered)"}]
    assert fine["messages"] == [] and fine["total"] == "60.00"
    assert short["total"] == "54,000.00"  # 150 x 400 less 10 %
    assert body["total"] == "55,260.00" and body["discount"] == "6,000.00"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)) == 0


def test_a_line_that_is_not_a_number_or_an_unknown_product_is_named(console, shop):
    client = console("sam", "sales")
    body = check(client, {"lines": [{"product_id": shop["lamp"], "quantity": "lots"},
                                    {"product_id": 999999, "quantity": "1"}]}).get_json()
    assert body["lines"][0]["messages"][0]["field"] == "lines.0.quantity"
    assert "number" in body["lines"][0]["messages"][0]["message"].lower()
    assert body["total"] == ""


def test_an_unknown_product_is_named_on_its_line(console, shop):
    body = check(console("sam", "sales"),
                 {"lines": [{"product_id": 999999, "quantity": "1"}]}).get_json()
    assert body["lines"][0]["messages"][0]["message"] == "unknown product 999999"


def test_the_check_needs_the_right_to_create_orders_and_a_json_object(console, shop):
    client = console("sam", "sales")
    token = csrf_meta_in(client.get("/admin/orders/new").get_data(as_text=True))
    refused = client.post("/admin/orders/new/check", data="[1]",
                          headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert refused.status_code == 400
    assert refused.get_json()["problems"][0]["field"] == "_schema"
    assert client.post("/admin/orders/new/check", json={"lines": []}).status_code == 400


def test_the_warehouse_may_not_check_orders(app, console, shop):
    client = console("wes", "warehouse")
    token = csrf_meta_in(client.get("/admin/").get_data(as_text=True))
    answer = client.post("/admin/orders/new/check", json={"lines": []},
                         headers={"X-CSRFToken": token})
    assert answer.status_code == 403

"""Stock another plugin expects (hook ``erpkit_inventory_expected_receipts``) counts in
availability and in the promise of a backordered line; without such a plugin nothing is
expected and the supplier lead time stands."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from erpkit import hookimpl
from erpkit.db import db, utcnow
from erpkit.testing import make_plugin
from erpkit_inventory import availability, stock
from erpkit_inventory.models import Warehouse
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order, Product

from .conftest import q


def test_hook_erpkit_inventory_expected_receipts(make_app, shop):
    product = shop.session.scalar(sa.select(Product).where(Product.sku == "W-1"))
    product_id, customer_id = product.id, shop.customer.id
    shop.session.commit()
    today = utcnow().date()
    asked: list[list[int]] = []

    @hookimpl
    def erpkit_inventory_expected_receipts(product_ids, session):
        asked.append(list(product_ids))
        return {product_id: [(today + timedelta(days=9), Decimal("4")),
                             (today + timedelta(days=3), Decimal("2"))]}

    supplier = make_plugin("supplier", requires=("inventory",),
                           erpkit_inventory_expected_receipts=erpkit_inventory_expected_receipts)
    application = make_app(supplier)
    with application.app_context():
        session = db.session
        registry = application.extensions["erpkit"]
        registry.parameters.set(session, "inventory.shortage_policy", "backorder", actor="t")
        session.commit()
        handling = int(registry.parameters.get(session, "orders.default_lead_days"))
        (w1,) = availability.availability(session, sku="W-1")
        assert w1.expected == q(6) and product_id in asked[-1]

        def order(amount: int) -> Order:
            intake = create_order(session, {"customer_id": customer_id, "channel": "web",
                                            "lines": [{"sku": "W-1", "quantity": q(amount)}]})
            placed = lifecycle.submit(session, intake.order, actor="sales")
            session.commit()
            return session.get(Order, placed.id)

        # 2 arrive on day 3, 4 more on day 9: the first 2 owed ship after day 3, the
        # next 4 after day 9, anything beyond waits for the supplier lead time (7).
        assert order(2).promised_date == today + timedelta(days=3 + handling)
        assert order(4).promised_date == today + timedelta(days=9 + handling)
        assert order(1).promised_date == today + timedelta(days=handling + 7)


def test_without_a_plugin_nothing_is_expected(shop):
    (w1,) = availability.availability(shop.session, sku="W-1")
    assert w1.expected == q(0)
    stock.receive(shop.session, stock.product_by_sku(shop.session, "W-1"),
                  shop.session.scalar(sa.select(Warehouse).where(Warehouse.code == "MAIN")),
                  3, actor="t")
    shop.session.commit()
    assert availability.availability(shop.session, sku="W-1")[0].expected == q(0)
    assert isinstance(shop.customer, Customer)

"""A backordered sales line is promised from the purchase that will cover it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from erpkit.db import utcnow
from erpkit.plugins import current_registry
from erpkit_orders.models import Order
from erpkit_purchasing import purchase_orders

from .conftest import q


def test_a_backordered_line_is_promised_from_the_expected_receipt(shop, users):
    boss = users.create("boss", "admin")
    shop.warehouse("MAIN")
    shop.product("Y")
    shop.offer(shop.supplier("S1"), "Y", price=Decimal("3.00"), lead_time_days=10)
    shop.set("inventory.shortage_policy", "backorder")
    handling = int(current_registry().parameters.get(shop.session, "orders.default_lead_days"))
    today = utcnow().date()

    before = shop.order({"Y": 2})  # nothing expected: the default supplier lead time (7)
    assert shop.session.get(Order, before.id).promised_date == today + timedelta(
        days=handling + 7)

    purchase = purchase_orders.create_order(shop.session, supplier="S1", warehouse="MAIN",
                                            lines=[{"sku": "Y", "quantity": q(10)}],
                                            actor="buyer")
    purchase_orders.approve(shop.session, purchase, actor=boss)
    purchase_orders.send(shop.session, purchase, actor="buyer")
    shop.session.commit()
    assert purchase.lines[0].expected_on == today + timedelta(days=10)

    covered = shop.order({"Y": 8})  # 2 owed before it + 8 = 10: the purchase covers it
    assert shop.session.get(Order, covered.id).promised_date == today + timedelta(
        days=10 + handling)
    beyond = shop.order({"Y": 1})  # 11 owed, 10 coming: back to the supplier lead time
    assert shop.session.get(Order, beyond.id).promised_date == today + timedelta(
        days=handling + 7)

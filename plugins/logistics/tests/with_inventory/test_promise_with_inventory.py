"""Promises with inventory: a backordered line waits for its supplier, a made-to-order
line for its short components. Expected dates are worked out by hand in the comments.

The warehouse MAIN, the carrier PX and the work centre WC-1 work Monday to Friday in
Bavaria; PX/standard takes 2 working days to the customer's zone DE, cut-off 16:00.
The order is confirmed on Friday 4 December 2026 at 10:00 UTC.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from erpkit_logistics.models import BomLine, MadeToOrder, OrderPromise, WorkCentre

from .conftest import FRIDAY, receive, supplier_lead


def explained(world: Any, order: Any) -> list[str]:
    row = world.session.scalars(sa.select(OrderPromise).where(
        OrderPromise.order_id == order.id, OrderPromise.current.is_(True))).one()
    return [step["text"] for step in row.steps]


def test_a_backordered_line_waits_for_its_supplier(shop):
    widget = shop.product("W-1", "1.0")
    shop.product("G-1", "1.0")
    receive(shop, "G-1", 10)
    supplier_lead(shop, widget, 8)
    order = shop.order({"W-1": 2, "G-1": 1})
    # W-1 is backordered: Fri 4 + 8 days = Sat 12, not worked: Mon 14 in the warehouse;
    # handed over Mon 14; transit Tue 15, Wed 16.
    assert shop.refresh(order).promised_date == date(2026, 12, 16)
    assert explained(shop, order)[:2] == [
        "W-1: backordered, supplier lead time 8 days: in the warehouse Mon 2026-12-14",
        "G-1: in stock, available Fri 2026-12-04",
    ]
    # The quote at entry saw the same shortage in the stock and promised the same date.
    entry = shop.session.scalars(sa.select(OrderPromise.promised_date).where(
        OrderPromise.order_id == order.id, OrderPromise.stage == "entry")).one()
    assert entry == date(2026, 12, 16)


def test_a_line_from_stock_ships_the_same_day(shop):
    shop.product("G-1", "1.0")
    receive(shop, "G-1", 10)
    order = shop.order({"G-1": 3})
    # Handed over Friday before the cut-off; transit Mon 7, Tue 8.
    assert shop.refresh(order).promised_date == date(2026, 12, 8)


def made_chair(world: Any) -> Any:
    centre = WorkCentre(code="WC-1", name="Workshop", daily_capacity=Decimal(5))
    world.session.add(centre)
    world.session.flush()
    chair = world.product("CHAIR", "8.0")
    leg = world.product("LEG", "0.5")
    world.session.add_all([
        MadeToOrder(product_id=chair.id, work_centre_id=centre.id, lead_days=3),
        BomLine(product_id=chair.id, component_id=leg.id, quantity=Decimal(4))])
    world.session.commit()
    supplier_lead(world, leg, 3)
    receive(world, "LEG", 4)
    return chair


def test_short_components_delay_the_start_of_production(shop):
    made_chair(shop)
    order = shop.order({"CHAIR": 2})
    # 8 legs needed, 4 in stock: the supplier's 3 days, Mon 7, production starts then;
    # 3 working days: Thu 10 ready; transit Fri 11, Mon 14.
    assert shop.refresh(order).promised_date == date(2026, 12, 14)
    assert explained(shop, order)[:2] == [
        "CHAIR: component LEG short by 4, supplier lead time 3 days: production starts "
        "Mon 2026-12-07",
        "CHAIR: made to order at WC-1 on Mon 2026-12-07 (capacity booked), 3 working days "
        "of production: ready Thu 2026-12-10",
    ]


def test_components_in_stock_let_production_start_at_once(shop):
    made_chair(shop)
    order = shop.order({"CHAIR": 1})
    # 4 legs, 4 in stock: made from Friday; ready Wed 9; transit Thu 10, Fri 11.
    assert shop.refresh(order).promised_date == date(2026, 12, 11)


def test_a_quote_of_unsaved_lines_sees_the_shortage_in_stock(shop):
    from erpkit_logistics import promise_quote

    widget = shop.product("W-1", "1.0")
    shop.product("G-1", "1.0")
    receive(shop, "G-1", 10)
    receive(shop, "W-1", 1)
    supplier_lead(shop, widget, 8)
    body = {"customer_id": shop.customer.id, "lines": [
        {"product_id": widget.id, "quantity": Decimal(2)},
        {"product_id": shop.products["G-1"].id, "quantity": Decimal(3)}]}
    # 2 W-1 wanted, 1 in stock: Fri 4 + 8 days = Sat 12, Mon 14 in the warehouse;
    # transit Tue 15, Wed 16. G-1 from stock.
    worked = promise_quote.quote(shop.session, body, now=FRIDAY)
    assert worked.promise.promised_date == date(2026, 12, 16)
    assert [step.text for step in worked.promise.steps][:2] == [
        "W-1: backordered, supplier lead time 8 days: in the warehouse Mon 2026-12-14",
        "G-1: in stock, available Fri 2026-12-04"]

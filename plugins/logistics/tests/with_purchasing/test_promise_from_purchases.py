"""A backordered line promised from the purchase order that covers it, and revised when
the supplier moves its date. Bavaria's calendars, PX/standard 2 working days to DE,
cut-off 16:00; W-1's supplier quotes 8 days, the purchase is expected on Wed 9 Dec.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit.jobs import enqueue
from erpkit_inventory.models import ReplenishmentRule, Warehouse
from erpkit_logistics import promise_review
from erpkit_logistics.models import BusinessCalendar, OrderPromise
from erpkit_purchasing import expected, purchase_orders, suppliers
from erpkit_purchasing.models import PurchaseOrderLine

from ..conftest import at, mail_body, promised, revisions, wait_for_jobs


@pytest.fixture
def shop(world: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    session = world.session
    for scope, subject in (("warehouse", "MAIN"), ("carrier", "PX")):
        session.add(BusinessCalendar(scope=scope, subject=subject, country="DE",
                                     subdivision="BY", closes=time(17)))
    session.add(Warehouse(code="MAIN", name="Main"))
    session.commit()
    world.set("inventory.shortage_policy", "backorder")
    widget = world.product("W-1", "1.0")
    session.add(ReplenishmentRule(product_id=widget.id, reorder_point=Decimal(1),
                                  order_up_to=Decimal(10), lead_time_days=8))
    supplier = suppliers.create_supplier(session, code="S1", name="Supplier S1")
    suppliers.offer(session, supplier, "W-1", price=Decimal("2.50"), lead_time_days=8)
    session.commit()
    return world


def set_clock(clock: Any, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    clock(text)
    monkeypatch.setattr(expected, "utcnow", lambda: at(text))


def purchase(shop: Any, users: Any, expected_on: date) -> PurchaseOrderLine:
    boss = users.create("boss", "admin")
    made = purchase_orders.create_order(shop.session, supplier="S1", warehouse="MAIN",
                                        lines=[{"sku": "W-1", "quantity": Decimal(10)}],
                                        actor="buyer")
    purchase_orders.approve(shop.session, made, actor=boss)
    purchase_orders.send(shop.session, made, actor="buyer")
    line = made.lines[0]
    line.expected_on = expected_on  # the supplier's confirmed date
    shop.session.commit()
    return line


def test_the_purchase_that_covers_a_backorder_dates_it_and_its_delay_moves_it(
        shop, users, clock, monkeypatch, smtp, worker):
    set_clock(clock, monkeypatch, "2026-12-04T10:00")
    line = purchase(shop, users, date(2026, 12, 9))
    order = shop.order({"W-1": 2})
    # Backordered Fri 4; the purchase brings 10 on Wed 9: in the warehouse Wed 9, handed
    # over Wed 9, transit Thu 10, Fri 11 (the lead time alone would say Wed 16).
    assert shop.refresh(order).promised_date == date(2026, 12, 11)
    steps = shop.session.scalars(sa.select(OrderPromise.steps).where(
        OrderPromise.order_id == order.id, OrderPromise.current.is_(True))).one()
    assert steps[0]["text"] == ("W-1: backordered, expected from the supplier on "
                                "2026-12-09: in the warehouse Wed 2026-12-09")
    # Monday 7 the supplier moves the delivery to Tue 15: in the warehouse Tue 15;
    # transit Wed 16, Thu 17. The periodic review notices; no stock moved.
    set_clock(clock, monkeypatch, "2026-12-07T09:00")
    shop.session.execute(sa.update(PurchaseOrderLine).where(PurchaseOrderLine.id == line.id)
                         .values(expected_on=date(2026, 12, 15)))
    run = enqueue(shop.session, promise_review.PERIODIC).id
    shop.session.commit()
    wait_for_jobs(shop, promise_review.PERIODIC, ids=(run,))
    assert revisions(shop, order.id) == [(date(2026, 12, 17), "our supplier is late")]
    assert promised(shop, order.id) == date(2026, 12, 17)
    [(_to, mail)] = smtp.wait_for(1)
    assert "moved from 2026-12-11 to 2026-12-17: our supplier is late" in mail_body(mail)

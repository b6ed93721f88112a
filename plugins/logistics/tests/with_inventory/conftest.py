"""Logistics with inventory: the promise asks inventory about stock, backorders and the
components of made-to-order products."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from erpkit.testing import plugin_fixtures
from erpkit_inventory import stock
from erpkit_inventory.models import ReplenishmentRule, Warehouse
from erpkit_logistics import promise_records
from erpkit_logistics.models import BusinessCalendar

ENABLED = {"orders", "inventory", "logistics"}

database_url, app, make_app = plugin_fixtures(ENABLED, "logistics_inventory")

FRIDAY = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def shop(world: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    session = world.session
    for scope, subject in (("warehouse", "MAIN"), ("carrier", "PX"), ("work_centre", "WC-1")):
        session.add(BusinessCalendar(scope=scope, subject=subject, country="DE",
                                     subdivision="BY", closes=time(17)))
    session.add(Warehouse(code="MAIN", name="Main"))
    session.commit()
    world.set("inventory.shortage_policy", "backorder")
    monkeypatch.setattr(promise_records, "utcnow", lambda: FRIDAY)
    return world


def receive(world: Any, sku: str, amount: int) -> None:
    session = world.session
    stock.receive(session, stock.product_by_sku(session, sku),
                  stock.warehouse_by_code(session, "MAIN"), amount, actor="receiver",
                  reason="test receipt")
    session.commit()


def supplier_lead(world: Any, product: Any, days: int) -> None:
    world.session.add(ReplenishmentRule(product_id=product.id, reorder_point=Decimal(1),
                                        order_up_to=Decimal(10), lead_time_days=days))
    world.session.commit()

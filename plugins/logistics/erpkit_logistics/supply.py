"""When an order line's goods are there: stock, a supplier's delivery, or production.

Inventory is asked when it is enabled: at confirmation its backorders say which lines
wait for the supplier (after it reserved what it could); before, its available stock.
A backordered product waits its supplier lead time (its replenishment rule, else
inventory's default), counted in calendar days as inventory counts it. Without
inventory, goods are taken to be there now: the promise then rests on lead times and
calendars alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.plugins import Registry


def inventory_enabled(registry: Registry) -> bool:
    return "inventory" in registry.plugins


def supplier_lead_days(session: Session, product_ids: Iterable[int]) -> dict[int, int]:
    """Inventory's supplier lead time per product (its longest replenishment rule)."""
    from erpkit_inventory.models import ReplenishmentRule
    from erpkit_inventory.promise import DEFAULT_SUPPLIER_LEAD_DAYS

    ids = sorted(set(product_ids))
    lead = dict.fromkeys(ids, DEFAULT_SUPPLIER_LEAD_DAYS)
    if ids:
        rows = session.execute(
            sa.select(ReplenishmentRule.product_id, sa.func.max(ReplenishmentRule.lead_time_days))
            .where(ReplenishmentRule.product_id.in_(ids))
            .group_by(ReplenishmentRule.product_id))
        lead.update({product_id: int(days) for product_id, days in rows})
    return lead


def backordered_lines(session: Session, order: Any, stage: str) -> set[int]:
    """Ids of the order's lines that wait for the supplier."""
    from erpkit_inventory.availability import available_by_product
    from erpkit_inventory.models import Backorder

    if stage != "entry":
        # Inventory's backorders of this transaction must be flushed to be found.
        if any(isinstance(obj, Backorder) for obj in (*session.new, *session.dirty)):
            session.flush()
        with session.no_autoflush:
            return set(session.scalars(sa.select(Backorder.order_line_id).where(
                Backorder.order_id == order.id, Backorder.quantity > 0)))
    stocked = [line for line in order.lines if line.product_id is not None]
    available = available_by_product(session, [line.product_id for line in stocked])
    wanted: dict[int, Decimal] = {}
    short: set[int] = set()
    for line in stocked:
        wanted[line.product_id] = wanted.get(line.product_id, Decimal(0)) + Decimal(line.quantity)
        if wanted[line.product_id] > available.get(line.product_id, Decimal(0)):
            short.add(line.id)
    return short


def short_components(session: Session, needs: dict[int, Decimal]) -> dict[int, Decimal]:
    """Components (product id: quantity needed) inventory has too little of: the
    shortfall of each."""
    from erpkit_inventory.availability import available_by_product

    available = available_by_product(session, needs)
    return {product_id: needed - available.get(product_id, Decimal(0))
            for product_id, needed in needs.items()
            if needed > available.get(product_id, Decimal(0))}

"""When an order line's goods are there: stock, a supplier's delivery, or production.

Inventory is asked when it is enabled: at confirmation its backorders say which lines
wait for the supplier (after it reserved what it could); before, its available stock.
A backordered line (:func:`arrivals`), first come first served among the backorders of
its product:

* is there once the stock available covers it (goods received since: a revision);
* else arrives with the expected receipt that covers it (hook
  ``erpkit_inventory_expected_receipts``: purchasing's open orders), if not overdue;
* else waits its supplier lead time (its replenishment rule, else inventory's default),
  in calendar days as inventory counts them, from the day it was backordered; when that
  day has passed and nothing came, the supplier is late and the lead time counts again
  from today.

Without inventory, goods are taken to be there now: the promise then rests on lead times
and calendars alone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
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


@functools.cache
def _backordered() -> Any:
    # Built once, on the table: the lines of an order waiting for the supplier (read on
    # every confirmation).
    from erpkit_inventory.models import Backorder

    table: sa.Table = Backorder.__table__  # type: ignore[assignment]
    return sa.select(table.c.order_line_id).where(
        table.c.order_id == sa.bindparam("order_id"), table.c.quantity > 0)


def backordered_lines(session: Session, order: Any, stage: str) -> set[int]:
    """Ids of the order's lines that wait for the supplier."""
    from erpkit_inventory.availability import available_by_product
    from erpkit_inventory.models import Backorder

    if stage != "entry":
        # Inventory's backorders of this transaction must be flushed to be found.
        if any(isinstance(obj, Backorder) for obj in (*session.new, *session.dirty)):
            session.flush()
        with session.no_autoflush:
            return set(session.scalars(_backordered(), {"order_id": order.id}))
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


@dataclass(frozen=True)
class Arrival:
    """When a backordered line's goods come: ``kind`` ``stock`` (there now),
    ``expected`` (a receipt on ``day``) or ``lead`` (the lead time from ``day``)."""

    kind: str
    day: date


def arrivals(session: Session, order: Any, line_ids: set[int], today: date, stage: str
             ) -> dict[int, Arrival]:
    """How each backordered line of ``order`` (``line_ids``) gets its goods. At entry
    and confirmation the lead time counts from ``today``; on a revision, from the day
    the line was backordered."""
    from erpkit_inventory.availability import available_by_product
    from erpkit_inventory.expected import covered_on, expected_receipts
    from erpkit_inventory.models import Backorder

    lines = [line for line in order.lines if line.id in line_ids]
    products = sorted({line.product_id for line in lines})
    with session.no_autoflush:
        open_rows = list(session.execute(
            sa.select(Backorder.id, Backorder.order_line_id, Backorder.product_id,
                      Backorder.quantity, Backorder.created_at)
            .where(Backorder.product_id.in_(products), Backorder.quantity > 0)
            .order_by(Backorder.id)))
        available = available_by_product(session, products)
        coming = expected_receipts(session, products)
    found: dict[int, Arrival] = {}
    for line in lines:
        # Before confirmation the order has no backorders (and a quote's lines no ids
        # of their own to match).
        mine = (next((row for row in open_rows if row.order_line_id == line.id), None)
                if stage != "entry" else None)
        # What this line needs covered: the product's backorders up to its own (all of
        # them and the line itself before it is backordered).
        needed = sum((Decimal(row.quantity) for row in open_rows
                      if row.product_id == line.product_id
                      and (mine is None or row.id <= mine.id)), Decimal(0))
        if mine is None:
            needed += Decimal(line.quantity)
        since = (mine.created_at.date() if mine is not None and stage == "revised"
                 else today)
        receipt = covered_on([r for r in coming.get(line.product_id, []) if r[0] >= today],
                             needed)
        if mine is not None and available.get(line.product_id, Decimal(0)) >= needed:
            found[line.id] = Arrival("stock", today)
        elif receipt is not None:
            found[line.id] = Arrival("expected", receipt)
        else:
            found[line.id] = Arrival("lead", since)
    return found

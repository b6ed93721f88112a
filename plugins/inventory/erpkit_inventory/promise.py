"""The delivery date inventory can promise: later when part of the order is backordered.

A line covered from stock ships within the orders module's usual lead time, so then
inventory does not answer and the orders module's promise stands. A backordered line
ships only once the goods arrived:

* when stock is expected (hook ``erpkit_inventory_expected_receipts``, e.g. open
  purchase orders) and the expected receipts, soonest first, cover this line's backorder
  after the backorders created before it, the line ships the usual lead time after the
  day of the receipt that covers it;
* otherwise the promise moves out by the longest supplier lead time among the
  backordered products (their replenishment rule, else :data:`DEFAULT_SUPPLIER_LEAD_DAYS`).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.transaction_cache import transaction_cache
from erpkit_inventory.expected import covered_on, expected_receipts
from erpkit_inventory.models import Backorder, ReplenishmentRule
from erpkit_inventory.reservations import BACKORDERED_AT_CONFIRMATION
from erpkit_inventory.stock import ZERO, quantity
from erpkit_orders.lifecycle import default_promise

DEFAULT_SUPPLIER_LEAD_DAYS = 7


def _owed_before_and_by(session: Session, order_id: int, product_ids: list[int]
                        ) -> dict[int, Decimal]:
    """Per product: what this order's backorders and every earlier backorder still owe
    (first come, first served)."""
    mine = (sa.select(Backorder.product_id, sa.func.max(Backorder.id).label("last"))
            .where(Backorder.order_id == order_id, Backorder.quantity > 0)
            .group_by(Backorder.product_id).subquery())
    rows = session.execute(
        sa.select(Backorder.product_id, sa.func.sum(Backorder.quantity))
        .join(mine, sa.and_(mine.c.product_id == Backorder.product_id,
                            Backorder.id <= mine.c.last))
        .where(Backorder.product_id.in_(product_ids), Backorder.quantity > 0)
        .group_by(Backorder.product_id))
    return {product_id: quantity(total or 0) for product_id, total in rows}


def backorder_promise(session: Session, order: Any) -> date | None:
    """The promised date of ``order`` when a line is backordered, else ``None``."""
    # Confirmed in this transaction without a backorder: it has none (an order's
    # backorders are made by its confirmation only), so there is nothing to read.
    if transaction_cache(session, BACKORDERED_AT_CONFIRMATION).get(order.id) is False:
        return None
    # Backorders written in this transaction must be flushed to be found; the order's
    # other pending changes (its new status, its stock rows) need not be, not yet.
    if any(isinstance(obj, Backorder) for pending in (session.new, session.dirty)
           for obj in pending):
        session.flush()
    with session.no_autoflush:
        owed = list(session.scalars(sa.select(Backorder.product_id).where(
            Backorder.order_id == order.id, Backorder.quantity > 0)))
        if not owed:
            return None
        usual = default_promise(session, order)
        handling = usual - utcnow().date()
        coming = expected_receipts(session, owed)
        needed = _owed_before_and_by(session, order.id, owed) if coming else {}
        lead_days = {product_id: DEFAULT_SUPPLIER_LEAD_DAYS for product_id in owed}
        rules = session.execute(sa.select(ReplenishmentRule.product_id,
                                          sa.func.max(ReplenishmentRule.lead_time_days))
                                .where(ReplenishmentRule.product_id.in_(owed))
                                .group_by(ReplenishmentRule.product_id))
        lead_days.update({product_id: days for product_id, days in rules})
    promises = []
    for product_id in owed:
        arrives = covered_on(coming.get(product_id, []), needed.get(product_id, ZERO))
        if arrives is not None:
            promises.append(max(usual, arrives + handling))
        else:
            promises.append(usual + timedelta(days=lead_days[product_id]))
    return max(promises)

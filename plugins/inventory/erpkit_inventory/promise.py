"""The delivery date inventory can promise: later when part of the order is backordered.

A line covered from stock ships within the orders module's usual lead time, so then
inventory does not answer and the orders module's promise stands. A backordered line
ships only once the supplier delivered: the promise moves out by the longest supplier
lead time among the backordered products (their replenishment rule, else
:data:`DEFAULT_SUPPLIER_LEAD_DAYS`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_inventory.models import Backorder, ReplenishmentRule
from erpkit_orders.lifecycle import default_promise

DEFAULT_SUPPLIER_LEAD_DAYS = 7


def backorder_promise(session: Session, order: Any) -> date | None:
    """The promised date of ``order`` when a line is backordered, else ``None``."""
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
    lead_days = {product_id: DEFAULT_SUPPLIER_LEAD_DAYS for product_id in owed}
    rules = session.execute(sa.select(ReplenishmentRule.product_id,
                                      sa.func.max(ReplenishmentRule.lead_time_days))
                            .where(ReplenishmentRule.product_id.in_(owed))
                            .group_by(ReplenishmentRule.product_id))
    lead_days.update({product_id: days for product_id, days in rules})
    return default_promise(session, order) + timedelta(days=max(lead_days.values()))

"""What purchasing expects to arrive, for inventory's availability and promises.

Open purchase orders a supplier agreed to (approved, sent, partly received) count with
what is still outstanding, on each line's expected day (today when not sent yet, plus the
quoted lead time); transfers on their way count on their expected day. Drafts do not
count: nobody has promised them.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import among, utcnow
from erpkit_inventory.models import Warehouse
from erpkit_inventory.stock import quantity
from erpkit_purchasing.models import PurchaseOrder, PurchaseOrderLine, SupplierProduct, Transfer
from erpkit_purchasing.planning import COMMITTED_STATUSES


def expected_receipts(session: Session, product_ids: list[int]
                      ) -> dict[int, list[tuple[date, Decimal]]]:
    """Per product id: ``(expected day, quantity)`` of everything on its way."""
    today = utcnow().date()
    found: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    lines, transfers = _statements(session.get_bind().dialect.name)
    ids = {"product_ids": list(product_ids)}
    for product_id, expected_on, outstanding, quoted in session.execute(lines, ids):
        day = expected_on or today + timedelta(days=quoted or 0)
        found[product_id].append((max(day, today), quantity(outstanding)))
    for product_id, expected_on, amount in session.execute(transfers, ids):
        found[product_id].append((max(expected_on or today, today), quantity(amount)))
    return {product_id: sorted(items) for product_id, items in found.items()}


@functools.cache
def _statements(dialect: str) -> tuple[Any, Any]:
    """Built once per dialect (availability asks on every page): the outstanding lines of
    committed purchase orders, and the transfers on their way, of ``:product_ids``."""
    lines = (
        sa.select(PurchaseOrderLine.product_id, PurchaseOrderLine.expected_on,
                  PurchaseOrderLine.quantity - PurchaseOrderLine.received,
                  SupplierProduct.lead_time_days)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
        .outerjoin(SupplierProduct, sa.and_(
            SupplierProduct.supplier_id == PurchaseOrder.supplier_id,
            SupplierProduct.product_id == PurchaseOrderLine.product_id))
        .where(among(PurchaseOrderLine.product_id, dialect, "product_ids"),
               Warehouse.active.is_(True), PurchaseOrder.status.in_(COMMITTED_STATUSES),
               PurchaseOrderLine.received < PurchaseOrderLine.quantity))
    transfers = (
        sa.select(Transfer.product_id, Transfer.expected_on, Transfer.quantity)
        .where(among(Transfer.product_id, dialect, "product_ids"),
               Transfer.status == "in_transit"))
    return lines, transfers

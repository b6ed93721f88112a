"""What purchasing expects to arrive, for inventory's availability and promises.

Open purchase orders a supplier agreed to (approved, sent, partly received) count with
what is still outstanding, on each line's expected day (today when not sent yet, plus the
quoted lead time); transfers on their way count on their expected day. Drafts do not
count: nobody has promised them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit_inventory.models import Warehouse
from erpkit_inventory.stock import quantity
from erpkit_purchasing.models import PurchaseOrder, PurchaseOrderLine, SupplierProduct, Transfer
from erpkit_purchasing.planning import COMMITTED_STATUSES


def expected_receipts(session: Session, product_ids: list[int]
                      ) -> dict[int, list[tuple[date, Decimal]]]:
    """Per product id: ``(expected day, quantity)`` of everything on its way."""
    today = utcnow().date()
    found: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    lines = session.execute(
        sa.select(PurchaseOrderLine.product_id, PurchaseOrderLine.expected_on,
                  PurchaseOrderLine.quantity - PurchaseOrderLine.received,
                  SupplierProduct.lead_time_days)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
        .outerjoin(SupplierProduct, sa.and_(
            SupplierProduct.supplier_id == PurchaseOrder.supplier_id,
            SupplierProduct.product_id == PurchaseOrderLine.product_id))
        .where(PurchaseOrderLine.product_id.in_(product_ids), Warehouse.active.is_(True),
               PurchaseOrder.status.in_(COMMITTED_STATUSES),
               PurchaseOrderLine.received < PurchaseOrderLine.quantity))
    for product_id, expected_on, outstanding, quoted in lines:
        day = expected_on or today + timedelta(days=quoted or 0)
        found[product_id].append((max(day, today), quantity(outstanding)))
    transfers = session.execute(
        sa.select(Transfer.product_id, Transfer.expected_on, Transfer.quantity)
        .where(Transfer.product_id.in_(product_ids), Transfer.status == "in_transit"))
    for product_id, expected_on, amount in transfers:
        found[product_id].append((max(expected_on or today, today), quantity(amount)))
    return {product_id: sorted(items) for product_id, items in found.items()}

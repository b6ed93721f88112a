"""Picking lists: what to collect in a warehouse, in the order the shelves are walked.

Lines are sorted by bin (``logistics_bin``: a bin per product per warehouse, since
inventory keeps stock per warehouse, not per shelf), bins compared piece by piece so
``A-2`` comes before ``A-10``; products without a known bin come last, by SKU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_logistics.models import BinLocation, LogisticsShipment, ShipmentItem
from erpkit_orders.models import Order, OrderLine, Product


@dataclass(frozen=True)
class PickLine:
    bin: str | None
    sku: str
    name: str
    quantity: Decimal
    shipment_id: int
    order_number: str


def bin_order(bin_code: str | None) -> tuple[object, ...]:
    """A sort key walking bins in shelf order: digits compare as numbers."""
    if bin_code is None:
        return (1,)
    parts = re.split(r"(\d+)", bin_code.upper())
    return (0, *[(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p])


def picking_list(session: Session, warehouse: str) -> list[PickLine]:
    """Every item of the warehouse's shipments still being picked, in walking order."""
    rows = session.execute(
        sa.select(BinLocation.bin, Product.sku, Product.name, ShipmentItem.quantity,
                  LogisticsShipment.id, Order.number)
        .select_from(ShipmentItem)
        .join(LogisticsShipment, LogisticsShipment.id == ShipmentItem.shipment_id)
        .join(Order, Order.id == LogisticsShipment.order_id)
        .join(OrderLine, OrderLine.id == ShipmentItem.order_line_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(BinLocation, sa.and_(BinLocation.product_id == Product.id,
                                        BinLocation.warehouse == LogisticsShipment.warehouse))
        .where(LogisticsShipment.warehouse == warehouse, LogisticsShipment.status == "picking",
               LogisticsShipment.picked_at.is_(None)))
    found = [PickLine(bin_code, sku, name, Decimal(quantity), shipment_id, number)
             for bin_code, sku, name, quantity, shipment_id, number in rows]
    return sorted(found, key=lambda line: (bin_order(line.bin), line.sku, line.shipment_id))


def warehouses_with_work(session: Session) -> list[str]:
    return list(session.scalars(sa.select(LogisticsShipment.warehouse).distinct()
                                .where(LogisticsShipment.status.in_(("picking", "packed")))
                                .order_by(LogisticsShipment.warehouse)))

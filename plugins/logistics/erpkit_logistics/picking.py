"""Picking lists: what to collect in a warehouse, in the order the shelves are walked.

Lines are sorted by bin (``logistics_bin``: a bin per product per warehouse, since
inventory keeps stock per warehouse, not per shelf), bins compared piece by piece so
``A-2`` comes before ``A-10``; products without a known bin come last, by SKU.

That order is kept in the database as each bin's ``walk_key`` (:func:`walk_key`), so the
database sorts a picking list and hands it out a page at a time, each page starting
after the last line of the one before (a keyset on the walk key, the SKU, the shipment
and the item).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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
    item_id: int = 0
    """The shipment item: the cursor of a page ending with this line."""


def bin_order(bin_code: str | None) -> tuple[object, ...]:
    """A sort key walking bins in shelf order: digits compare as numbers."""
    if bin_code is None:
        return (1,)
    parts = re.split(r"(\d+)", bin_code.upper())
    return (0, *[(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p])


def walk_key(bin_code: str) -> str:
    """:func:`bin_order` as text that sorts the same way, character by character, in any
    database: each piece of digits is ``0``, its length in two digits and the number
    (a longer number is a larger one); each other piece ``1`` and its upper-case UTF-8
    bytes in hex. Only ``0-9a-f`` appear, which every collation orders alike, and the
    piece markers sort before any byte of text, so ``A`` comes before ``A1`` and ``AB``.
    """
    pieces = []
    for part in re.split(r"(\d+)", bin_code.upper()):
        if part.isdigit():
            number = str(int(part))
            pieces.append(f"0{len(number):02d}{number}")
        elif part:
            pieces.append("1" + part.encode().hex())
    return "".join(pieces)


#: Sorts after every walk key (they start with 0 or 1): products without a bin come last.
NO_BIN = "2"


def _walk() -> Any:
    return sa.func.coalesce(BinLocation.walk_key, NO_BIN)


def _joined(query: Any) -> Any:
    return (query.select_from(ShipmentItem)
            .join(LogisticsShipment, LogisticsShipment.id == ShipmentItem.shipment_id)
            .join(OrderLine, OrderLine.id == ShipmentItem.order_line_id)
            .join(Product, Product.id == OrderLine.product_id)
            .outerjoin(BinLocation, sa.and_(BinLocation.product_id == Product.id,
                                            BinLocation.warehouse == LogisticsShipment.warehouse)))


def position_of(session: Session, item_id: int) -> tuple[Any, ...] | None:
    """Where a shipment item stands in a picking list: (walk key, SKU, shipment, item);
    ``None`` when there is no such item."""
    found = session.execute(_joined(sa.select(_walk(), Product.sku, ShipmentItem.shipment_id,
                                              ShipmentItem.id))
                            .where(ShipmentItem.id == item_id)).first()
    return tuple(found) if found is not None else None


def picking_list(session: Session, warehouse: str, *, limit: int | None = None,
                 after: tuple[Any, ...] | None = None) -> list[PickLine]:
    """The items of the warehouse's shipments still being picked, in walking order: at
    most ``limit`` of them (all when ``None``), after the position ``after`` (see
    :func:`position_of`)."""
    walk = _walk()
    query = (_joined(sa.select(BinLocation.bin, Product.sku, Product.name,
                               ShipmentItem.quantity, LogisticsShipment.id, Order.number,
                               ShipmentItem.id))
             .join(Order, Order.id == LogisticsShipment.order_id)
             .where(LogisticsShipment.warehouse == warehouse,
                    LogisticsShipment.status == "picking", LogisticsShipment.picked_at.is_(None))
             .order_by(walk, Product.sku, LogisticsShipment.id, ShipmentItem.id))
    if after is not None:
        query = query.where(sa.tuple_(walk, Product.sku, LogisticsShipment.id, ShipmentItem.id)
                            > sa.tuple_(*after))
    if limit is not None:
        query = query.limit(limit)
    return [PickLine(bin_code, sku, name, Decimal(quantity), shipment_id, number, item_id)
            for bin_code, sku, name, quantity, shipment_id, number, item_id
            in session.execute(query)]


def warehouses_with_work(session: Session) -> list[str]:
    return list(session.scalars(sa.select(LogisticsShipment.warehouse).distinct()
                                .where(LogisticsShipment.status.in_(("picking", "packed")))
                                .order_by(LogisticsShipment.warehouse)))

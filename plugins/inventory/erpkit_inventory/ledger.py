"""Reading the ledger: pages of entries, and the drift check that proves the levels.

The drift check recomputes every level from the ledger (on hand = the sum of
``on_hand_change``, reserved = the sum of ``reserved_change``) and from the reservations
(reserved = what they still hold), and reports each figure that disagrees. Nothing
writes levels except :func:`erpkit_inventory.stock.apply_change`, so any drift is a bug
or a change made behind the module's back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from erpkit_inventory.models import LedgerEntry, Reservation, StockLevel, Warehouse
from erpkit_inventory.stock import ZERO, quantity, show
from erpkit_orders.models import Product


@dataclass(frozen=True)
class Drift:
    """One figure of one level that its sources do not explain."""

    sku: str
    warehouse: str
    figure: str  # on_hand | reserved
    level: Decimal
    expected: Decimal
    source: str  # ledger | reservations

    def __str__(self) -> str:
        adds = "add" if self.source == "reservations" else "adds"
        return (f"{self.sku} in {self.warehouse}: {self.figure} is {show(self.level)} but the "
                f"{self.source} {adds} up to {show(self.expected)} "
                f"(difference {show(self.level - self.expected)})")


def _sums(session: Session, model: type[LedgerEntry] | type[Reservation],
          *columns: InstrumentedAttribute[Decimal]) -> dict[tuple[int, int], tuple[Decimal, ...]]:
    """Per (product id, warehouse id): the sum of each column."""
    rows = session.execute(
        sa.select(model.product_id, model.warehouse_id,
                  *(sa.func.coalesce(sa.func.sum(c), 0) for c in columns))
        .group_by(model.product_id, model.warehouse_id))
    return {(r[0], r[1]): tuple(quantity(v) for v in r[2:]) for r in rows}


def check_drift(session: Session) -> list[Drift]:
    """Every disagreement between levels, ledger and reservations; empty when all agree."""
    ledger = _sums(session, LedgerEntry, LedgerEntry.on_hand_change, LedgerEntry.reserved_change)
    held = _sums(session, Reservation, Reservation.quantity)
    levels = {(r.product_id, r.warehouse_id): (quantity(r.on_hand), quantity(r.reserved))
              for r in session.execute(sa.select(StockLevel.product_id, StockLevel.warehouse_id,
                                                 StockLevel.on_hand, StockLevel.reserved))}
    skus = {r.id: r.sku for r in session.execute(sa.select(Product.id, Product.sku))}
    codes = {r.id: r.code for r in session.execute(sa.select(Warehouse.id, Warehouse.code))}
    drifts: list[Drift] = []
    for pair in sorted(set(ledger) | set(held) | set(levels)):
        on_hand, reserved = levels.get(pair, (ZERO, ZERO))
        from_ledger = ledger.get(pair, (ZERO, ZERO))
        from_reservations = held.get(pair, (ZERO,))[0]
        checks = (("on_hand", on_hand, from_ledger[0], "ledger"),
                  ("reserved", reserved, from_ledger[1], "ledger"),
                  ("reserved", reserved, from_reservations, "reservations"))
        for figure, level, expected, source in checks:
            if level != expected:
                drifts.append(Drift(skus.get(pair[0], str(pair[0])),
                                    codes.get(pair[1], str(pair[1])),
                                    figure, level, expected, source))
    return drifts


def ledger_page(session: Session, *, sku: str | None = None, warehouse: str | None = None,
                kind: str | None = None, order_id: int | None = None,
                before: int | None = None, limit: int = 50) -> tuple[list[LedgerEntry], int | None]:
    """Ledger entries newest first, ``limit`` at a time; keyset-paginated by id.

    Returns the entries and the cursor of the next page (pass it as ``before``), or
    ``None`` on the last page. A page never shifts when new entries arrive meanwhile.
    """
    query = sa.select(LedgerEntry).order_by(LedgerEntry.id.desc()).limit(limit + 1)
    if sku is not None:
        query = query.join(Product, Product.id == LedgerEntry.product_id).where(Product.sku == sku)
    if warehouse is not None:
        query = query.join(Warehouse, Warehouse.id == LedgerEntry.warehouse_id).where(
            Warehouse.code == warehouse)
    if kind is not None:
        query = query.where(LedgerEntry.kind == kind)
    if order_id is not None:
        query = query.where(LedgerEntry.order_id == order_id)
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    entries = list(session.scalars(query).unique())
    if len(entries) > limit:
        return entries[:limit], entries[limit - 1].id
    return entries, None

"""The inventory plugin as the benchmarks use it: through its own service functions.

Imported only when the plugin is installed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

WAREHOUSE = "BENCH"


def receive(app: Any, catalogue: Any, quantity: int, *, products: list[int] | None = None) -> int:
    """Open the bench warehouse (once) and book one receipt of ``quantity`` per product."""
    from erpkit.db import db
    from erpkit.transitions import run_atomic
    from erpkit_inventory import stock
    from erpkit_inventory.models import Warehouse
    from erpkit_orders.models import Product

    with app.app_context():
        session = db.session
        warehouse = session.scalar(sa.select(Warehouse).where(Warehouse.code == WAREHOUSE))
        if warehouse is None:
            warehouse = Warehouse(code=WAREHOUSE, name="Bench warehouse")
            session.add(warehouse)
            session.commit()
        for product_id in products or catalogue.product_ids:

            def book(product_id: int = product_id) -> Any:
                product = session.get(Product, product_id)
                return stock.receive(
                    session,
                    product,
                    warehouse,
                    Decimal(quantity),
                    actor="bench-warehouse",
                    reason="bench opening stock",
                    reference="bench",
                )

            run_atomic(session, book)
        return int(warehouse.id)


def reservation_check(session: Any) -> dict[str, Any]:
    """Whether any level reserves more than it holds, and whether the ledger and the
    reservations explain every level (the plugin's own drift check)."""
    from erpkit_inventory.ledger import check_drift
    from erpkit_inventory.models import Reservation, StockLevel

    levels = StockLevel.__table__
    over = session.scalar(
        sa.select(sa.func.count()).select_from(levels).where(levels.c.reserved > levels.c.on_hand)
    )
    negative = session.scalar(
        sa.select(sa.func.count())
        .select_from(levels)
        .where(sa.or_(levels.c.on_hand < 0, levels.c.reserved < 0))
    )
    totals = session.execute(
        sa.select(sa.func.sum(levels.c.on_hand), sa.func.sum(levels.c.reserved))
    ).one()
    held = session.scalar(sa.select(sa.func.sum(Reservation.quantity)))
    drifts = check_drift(session)
    return {
        "levels_reserving_more_than_on_hand": int(over or 0),
        "levels_negative": int(negative or 0),
        "on_hand_total": totals[0],
        "reserved_total": totals[1],
        "held_by_reservations": held,
        "drift": [str(d) for d in drifts[:10]],
        "drift_count": len(drifts),
        "reserved_never_exceeded_on_hand": not over and not negative and not drifts,
    }

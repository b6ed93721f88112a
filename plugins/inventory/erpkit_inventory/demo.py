"""Demo stock: two warehouses, a receipt of every demo product, replenishment rules.

It runs after the orders demo made the catalogue and before it makes the orders (the
orders demo is a hook wrapper), so the demo orders reserve this stock.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_inventory.models import Warehouse
from erpkit_inventory.replenishment import set_rule
from erpkit_inventory.stock import receive
from erpkit_orders.models import Product


def load_demo(session: Session, users: Mapping[str, Any]) -> None:
    """Create the demo warehouses and stock once; a second load adds nothing."""
    if session.scalar(sa.select(Warehouse.id).limit(1)) is not None:
        return
    main = Warehouse(code="MAIN", name="Main warehouse")
    east = Warehouse(code="EAST", name="East depot")
    session.add_all([main, east])
    session.flush()
    actor = getattr(users.get("warehouse"), "login", None) or "demo"
    products = session.scalars(sa.select(Product).where(Product.active.is_(True))
                               .order_by(Product.id))
    for index, product in enumerate(products):
        # Varied stock, some of it scarce, so the demo shows shortages and alerts.
        in_main = Decimal(22 + 15 * (index % 4)) * product.pack_size
        in_east = Decimal(5 * (index % 3)) * product.pack_size
        receive(session, product, main, in_main, actor=actor, reason="opening stock",
                reference="demo")
        if in_east:
            receive(session, product, east, in_east, actor=actor, reason="opening stock",
                    reference="demo")
        set_rule(session, product.id, None, reorder_point=Decimal(20) * product.pack_size,
                 order_up_to=Decimal(80) * product.pack_size, lead_time_days=7)
    session.commit()

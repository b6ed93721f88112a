"""Stock on its way, as other plugins report it (hook ``erpkit_inventory_expected_receipts``).

Inventory keeps no purchase orders of its own; a purchasing plugin knows what suppliers
will deliver and when. Without one, nothing is expected and every figure here is zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from erpkit.plugins import Registry, registry_of
from erpkit_inventory.stock import ZERO, quantity


def expected_receipts(session: Session, product_ids: Iterable[int],
                      registry: Registry | None = None) -> dict[int, list[tuple[date, Decimal]]]:
    """Per product id: the receipts expected, ``(date, quantity)`` soonest first."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    registry = registry or registry_of(session)
    found: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for answer in registry.call("erpkit_inventory_expected_receipts", product_ids=ids,
                                session=session):
        for product_id, receipts in (answer or {}).items():
            found[product_id].extend((day, quantity(amount)) for day, amount in receipts)
    return {product_id: sorted(receipts) for product_id, receipts in found.items()}


def expected_total(receipts: Iterable[tuple[date, Decimal]]) -> Decimal:
    return sum((amount for _day, amount in receipts), ZERO)


def covered_on(receipts: Iterable[tuple[date, Decimal]], needed: Decimal) -> date | None:
    """The day the receipts, soonest first, add up to ``needed``; ``None`` if they never do."""
    total = ZERO
    for day, amount in receipts:
        total += amount
        if total >= needed:
            return day
    return None

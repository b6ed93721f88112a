"""Purchase spend: the value received from each supplier, per month (or quarter, or
year), in Decimal.

Sums are taken in Python over the receipts' amounts (SQLite keeps Numeric as floats:
summing there would bring float noise into money).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_inventory.demand import start_of
from erpkit_purchasing.models import Receipt, Supplier


@dataclass(frozen=True)
class Spend:
    supplier: str
    period: str  # YYYY-MM, YYYY-Qn or YYYY
    amount: Decimal
    receipts: int


def period_of(day: datetime, by: str = "month") -> str:
    """The period ``day`` falls in: ``2026-03`` (month), ``2026-Q1`` (quarter), ``2026``."""
    if by == "year":
        return f"{day.year}"
    if by == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return day.strftime("%Y-%m")


def spend(session: Session, first: date, last: date, supplier: str | None = None,
          by: str = "month") -> list[Spend]:
    """Received value per supplier and period (``by``: month, quarter or year) from
    ``first`` to ``last`` (both included)."""
    query = (sa.select(Supplier.code, Receipt.received_at, Receipt.amount)
             .join(Supplier, Supplier.id == Receipt.supplier_id)
             .where(Receipt.received_at >= start_of(first),
                    Receipt.received_at < start_of(last + timedelta(days=1))))
    if supplier is not None:
        query = query.where(Supplier.code == supplier)
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for code, at, amount in session.execute(query):
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        totals[(code, period_of(at.astimezone(UTC), by))].append(
            Decimal(amount).quantize(Decimal("0.01")))
    return [Spend(code, period, sum(amounts, Decimal("0.00")), len(amounts))
            for (code, period), amounts in sorted(totals.items())]

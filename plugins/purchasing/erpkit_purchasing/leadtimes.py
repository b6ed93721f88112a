"""Lead times that learn: what each receipt took, and the figures planning uses.

A receipt's lead time is the days from sending its purchase order to booking the
receipt. Planning uses the mean and the sample standard deviation of the measured lead
times of a supplier and product once there are ``purchasing.lead_time_samples`` of them;
before that, the supplier's quoted lead time with no spread.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.parameters import get_value
from erpkit_purchasing.models import Receipt, SupplierProduct

DAY_SECONDS = Decimal(86400)


def days_between(start: datetime, end: datetime) -> Decimal:
    """Days from ``start`` to ``end``, to the hundredth."""
    seconds = Decimal(str((end - start).total_seconds()))
    return (seconds / DAY_SECONDS).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class LeadTime:
    """The lead time to plan with: mean and spread in days, and where they come from."""

    mean: Decimal
    spread: Decimal
    samples: int
    measured: bool
    quoted: int

    def __str__(self) -> str:
        if self.measured:
            return (f"measured {self.mean:.2f} days on average, spread {self.spread:.2f} "
                    f"({self.samples} receipts; quoted {self.quoted})")
        return f"quoted {self.quoted} days ({self.samples} receipts measured so far)"


def measured(session: Session, supplier_id: int, product_id: int) -> list[Decimal]:
    """Every measured lead time of this supplier and product, oldest first."""
    return [Decimal(value) for value in session.scalars(
        sa.select(Receipt.lead_time_days)
        .where(Receipt.supplier_id == supplier_id, Receipt.product_id == product_id,
               Receipt.lead_time_days.is_not(None))
        .order_by(Receipt.id)) if value is not None]


def lead_time(session: Session, offer: SupplierProduct) -> LeadTime:
    """The lead time of ``offer`` to plan with (see the module's docstring)."""
    values = measured(session, offer.supplier_id, offer.product_id)
    needed = int(get_value(session, "purchasing.lead_time_samples"))
    if len(values) >= max(needed, 2):
        return LeadTime(statistics.mean(values), statistics.stdev(values), len(values), True,
                        offer.lead_time_days)
    return LeadTime(Decimal(offer.lead_time_days), Decimal(0), len(values), False,
                    offer.lead_time_days)

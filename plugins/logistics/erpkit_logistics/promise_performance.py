"""Kept and measured: promised against actual delivery.

An order counts once it has a promised date and a delivered shipment; its actual
delivery day is the day its last delivered shipment arrived (UTC). It was on time when
that day is not after the promised date; its lateness is the number of days after it
(0 when on time). By carrier, zone and warehouse, an order counts in each group one of
its shipments falls in, with that group's shipments' last delivery; by product, in each
product it has a line of.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_logistics.models import Carrier, CarrierService, LogisticsShipment, Zone
from erpkit_orders.models import Order, OrderLine, Product

GROUPINGS = ("order", "carrier", "zone", "warehouse", "product")
HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class Kept:
    """How a group of orders' promises were kept."""

    key: str
    orders: int
    on_time: int
    total_days_late: int

    @property
    def on_time_rate(self) -> Decimal:
        """Share of orders delivered by their promised date, 0 to 1, two decimals."""
        if not self.orders:
            return Decimal(0)
        return (Decimal(self.on_time) / self.orders).quantize(HUNDREDTH, ROUND_HALF_UP)

    @property
    def average_days_late(self) -> Decimal:
        """Days after the promise, on average over the group's orders (on time: 0)."""
        if not self.orders:
            return Decimal(0)
        return (Decimal(self.total_days_late) / self.orders).quantize(HUNDREDTH, ROUND_HALF_UP)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "orders": self.orders, "on_time": self.on_time,
                "late": self.orders - self.on_time, "on_time_rate": self.on_time_rate,
                "average_days_late": self.average_days_late}


def _delivered(session: Session, since: date | None, until: date | None) -> list[Any]:
    query = (sa.select(LogisticsShipment.order_id, LogisticsShipment.delivered_at,
                       LogisticsShipment.warehouse, Carrier.code.label("carrier"),
                       Zone.code.label("zone"), Order.promised_date)
             .join(Order, Order.id == LogisticsShipment.order_id)
             .outerjoin(CarrierService, CarrierService.id == LogisticsShipment.service_id)
             .outerjoin(Carrier, Carrier.id == CarrierService.carrier_id)
             .outerjoin(Zone, Zone.id == LogisticsShipment.zone_id)
             .where(LogisticsShipment.delivered_at.is_not(None),
                    Order.promised_date.is_not(None)))
    if since is not None:
        query = query.where(Order.promised_date >= since)
    if until is not None:
        query = query.where(Order.promised_date <= until)
    return list(session.execute(query))


def promise_performance(session: Session, by: str = "order", *, since: date | None = None,
                        until: date | None = None) -> list[Kept]:
    """On-time rate and average lateness, over all (``by="order"``) or by ``carrier``,
    ``zone``, ``warehouse`` or ``product``; orders promised between ``since`` and
    ``until`` (inclusive) when given. Groups by key."""
    if by not in GROUPINGS:
        raise ValueError(f"by: {by!r} is not one of {', '.join(GROUPINGS)}")
    rows = _delivered(session, since, until)
    promised: dict[int, date] = {}
    last: dict[tuple[str, int], date] = {}
    for row in rows:
        promised[row.order_id] = row.promised_date
        keys = ([row.carrier or "none"] if by == "carrier" else
                [row.zone or "none"] if by == "zone" else
                [row.warehouse or "none"] if by == "warehouse" else ["all"])
        for key in keys:
            day = row.delivered_at.date()
            last[(key, row.order_id)] = max(day, last.get((key, row.order_id), day))
    if by == "product" and promised:
        delivered_on = {order_id: day for (_key, order_id), day in last.items()}
        last = {}
        ids = sorted(promised)
        for start in range(0, len(ids), 500):
            for order_id, sku in session.execute(
                    sa.select(OrderLine.order_id, Product.sku).distinct()
                    .join(Product, Product.id == OrderLine.product_id)
                    .where(OrderLine.order_id.in_(ids[start:start + 500]))):
                last[(sku, order_id)] = delivered_on[order_id]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (key, order_id), day in last.items():
        late_by = max(0, (day - promised[order_id]).days)
        count = counts[key]
        count[0] += 1
        count[1] += late_by == 0
        count[2] += late_by
    return [Kept(key, *counts[key]) for key in sorted(counts)]

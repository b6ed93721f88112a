"""Figures for reporting: order-to-ship and ship-to-delivery days and exceptions, by
carrier and zone.

Days are exact (fractions of a day, two decimals) and averaged in Python with Decimal,
so SQLite and PostgreSQL give the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit_logistics.models import Carrier, CarrierService, LogisticsShipment, ShipmentEvent, Zone
from erpkit_orders.models import Order

UTC_MIDNIGHT = time(0, 0)
DAY_SECONDS = Decimal(86400)


@dataclass
class Figures:
    """One carrier and zone over a period."""

    carrier: str
    zone: str
    shipments: int = 0
    handed_over: int = 0
    delivered: int = 0
    exceptions: int = 0
    returned: int = 0
    order_to_ship_days: Decimal | None = None
    ship_to_delivery_days: Decimal | None = None
    _to_ship: list[Decimal] = field(default_factory=list, repr=False)
    _to_deliver: list[Decimal] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, object]:
        return {"carrier": self.carrier, "zone": self.zone, "shipments": self.shipments,
                "handed_over": self.handed_over, "delivered": self.delivered,
                "exceptions": self.exceptions, "returned": self.returned,
                "order_to_ship_days": self.order_to_ship_days,
                "ship_to_delivery_days": self.ship_to_delivery_days}


def _days(start: datetime, end: datetime) -> Decimal:
    return Decimal((end - start).total_seconds()) / DAY_SECONDS


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def figures(session: Session, first: date | None = None, last: date | None = None,
            *, carrier: str | None = None, zone: str | None = None) -> list[Figures]:
    """Per carrier and zone, the shipments created from ``first`` to ``last`` (UTC days,
    both included; the last 30 days by default)."""
    last = last or utcnow().date()
    first = first or last - timedelta(days=29)
    start = datetime.combine(first, UTC_MIDNIGHT).replace(tzinfo=utcnow().tzinfo)
    end = datetime.combine(last + timedelta(days=1), UTC_MIDNIGHT).replace(
        tzinfo=utcnow().tzinfo)
    query = (sa.select(LogisticsShipment, Order.ordered_at, Carrier.code, Zone.code)
             .join(Order, Order.id == LogisticsShipment.order_id)
             .outerjoin(CarrierService, CarrierService.id == LogisticsShipment.service_id)
             .outerjoin(Carrier, Carrier.id == CarrierService.carrier_id)
             .outerjoin(Zone, Zone.id == LogisticsShipment.zone_id)
             .where(LogisticsShipment.created_at >= start, LogisticsShipment.created_at < end))
    if carrier:
        query = query.where(Carrier.code == carrier)
    if zone:
        query = query.where(Zone.code == zone)
    rows = session.execute(query).all()
    with_exception = set(session.scalars(
        sa.select(ShipmentEvent.shipment_id).distinct()
        .where(ShipmentEvent.status == "exception",
               ShipmentEvent.shipment_id.in_([row[0].id for row in rows] or [0]))))
    found: dict[tuple[str, str], Figures] = {}
    for shipment, ordered_at, carrier_code, zone_code in rows:
        key = (carrier_code or "(none)", zone_code or "(none)")
        row = found.setdefault(key, Figures(*key))
        row.shipments += 1
        row.exceptions += shipment.id in with_exception
        row.returned += shipment.returned_at is not None
        if shipment.handed_over_at is not None:
            row.handed_over += 1
            row._to_ship.append(_days(ordered_at, shipment.handed_over_at))
            if shipment.delivered_at is not None:
                row.delivered += 1
                row._to_deliver.append(_days(shipment.handed_over_at, shipment.delivered_at))
    for row in found.values():
        row.order_to_ship_days = _mean(row._to_ship)
        row.ship_to_delivery_days = _mean(row._to_deliver)
    return [found[key] for key in sorted(found)]

"""An independent computation of the reports: plain Python over the orders' own rows.

It shares no code with erpkit_reporting: it reads orders, lines and timeline events with
plain SQL and applies the documented definitions directly, in Decimal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

SALE = {"confirmed", "partially_shipped", "shipped", "delivered", "closed", "returned"}


@dataclass
class Sale:
    id: int
    day: date
    channel: str
    country: str
    region: str
    customer_id: int
    status: str
    total: Decimal
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    ordered_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    requested: date | None
    promised: date | None
    changed_at: datetime
    lines: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    events: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def returned_on(self) -> date | None:
        for status, at in self.events:
            if status == "returned":
                return at.date()
        return self.changed_at.date() if self.status == "returned" else None


def _dec(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def load(session: Any) -> list[Sale]:
    from erpkit_orders.models import Customer, Order, OrderLine, Product, TimelineEvent

    orders = {}
    for o, c in session.execute(sa.select(Order, Customer).join(Customer,
                                                                Customer.id == Order.customer_id)):
        orders[o.id] = Sale(
            o.id, o.ordered_at.date(), o.channel, o.ship_to_country or c.country or "",
            o.ship_to_region or c.region or "", o.customer_id, o.status, _dec(o.total),
            _dec(o.subtotal), _dec(o.discount_total), _dec(o.shipping_charge), o.ordered_at,
            o.shipped_at, o.delivered_at, o.requested_date, o.promised_date,
            o.status_changed_at)
    for line, product in session.execute(sa.select(OrderLine, Product).join(Product)):
        orders[line.order_id].lines.append((product.sku, product.category,
                                            _dec(line.quantity), _dec(line.line_total)))
    for event in session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind == "status")
                                 .order_by(TimelineEvent.id)):
        orders[event.order_id].events.append((event.to_status, event.at))
    return list(orders.values())


def sales(orders: list[Sale]) -> list[Sale]:
    return [o for o in orders if o.status in SALE]


def revenue_by(orders: list[Sale], key: Any, first: date, last: date) -> dict[Any, Decimal]:
    """Revenue per key(order, day): sales on their day, returns on theirs, in range."""
    out: dict[Any, Decimal] = defaultdict(Decimal)
    for o in sales(orders):
        if first <= o.day <= last:
            out[key(o, o.day)] += o.total
        returned = o.returned_on
        if returned and first <= returned <= last:
            out[key(o, returned)] -= o.total
    return dict(out)


def month(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())

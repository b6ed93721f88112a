"""A customer's order history, what they buy often, what they are due for, and
"reorder the last order".

History counts the orders that went ahead: every status but ``draft``, ``rejected`` and
``cancelled`` (returned orders are listed, but their revenue is not counted).

**Due for.** For each product the customer bought on at least two different days, the
interval is the mean number of days between consecutive purchase days; the product is
due on the last purchase day plus that interval, and suggested when that day falls
within ``crm.suggestion_horizon_days`` from today (or has passed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from erpkit.db import utcnow
from erpkit.parameters import get_value
from erpkit_crm.models import ReturnedOrder
from erpkit_orders.intake import Intake, create_order
from erpkit_orders.models import Order, OrderLine, Product

NOT_GONE_AHEAD = ("draft", "rejected", "cancelled")
ZERO = Decimal("0.00")


def _gone_ahead(customer_id: int) -> Any:
    return sa.and_(Order.customer_id == customer_id, Order.status.not_in(NOT_GONE_AHEAD))


@dataclass(frozen=True)
class Summary:
    order_count: int
    lifetime_revenue: Decimal
    first_order_at: Any
    last_order_at: Any

    @property
    def average_order_value(self) -> Decimal:
        if not self.order_count:
            return ZERO
        return (self.lifetime_revenue / self.order_count).quantize(Decimal("0.01"))


def summary(session: Session, customer_id: int) -> Summary:
    """Orders gone ahead, their revenue (returned ones excluded; summed as Decimal, never
    in the database's float arithmetic), first and last order time."""
    rows = session.execute(
        sa.select(Order.total, Order.ordered_at,
                  sa.exists().where(ReturnedOrder.order_id == Order.id).label("returned"))
        .where(_gone_ahead(customer_id))).all()
    kept = [r for r in rows if not r.returned and r.total is not None]
    revenue = sum((Decimal(r.total) for r in kept), ZERO).quantize(Decimal("0.01"))
    times = [r.ordered_at for r in rows]
    return Summary(len(kept), revenue, min(times, default=None), max(times, default=None))


def orders(session: Session, customer_id: int, limit: int = 50) -> list[Order]:
    """The customer's orders, newest first (every status)."""
    return list(session.scalars(
        sa.select(Order).options(lazyload(Order.lines)).where(Order.customer_id == customer_id)
        .order_by(Order.ordered_at.desc(), Order.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Bought:
    sku: str
    name: str
    orders: int
    quantity: Decimal
    last_on: date


def frequent_products(session: Session, customer_id: int, limit: int = 10) -> list[Bought]:
    """Products on the most of the customer's orders (then the most recent)."""
    rows = session.execute(
        sa.select(Product.sku, Product.name, Order.id, OrderLine.quantity, Order.ordered_at)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(_gone_ahead(customer_id))).all()
    found: dict[str, dict[str, Any]] = {}
    for sku, name, order_id, quantity, at in rows:
        entry = found.setdefault(sku, {"name": name, "orders": set(), "quantity": Decimal(0),
                                       "last": at.date()})
        entry["orders"].add(order_id)
        entry["quantity"] += Decimal(quantity)
        entry["last"] = max(entry["last"], at.date())
    bought = [Bought(sku, e["name"], len(e["orders"]),
                     e["quantity"].quantize(Decimal("0.001")), e["last"])
              for sku, e in found.items()]
    bought.sort(key=lambda b: (-b.orders, -b.last_on.toordinal(), b.sku))
    return bought[:limit]


@dataclass(frozen=True)
class Suggestion:
    sku: str
    name: str
    interval_days: int
    last_on: date
    due_on: date
    usual_quantity: Decimal

    @property
    def overdue_days(self) -> int:
        return (utcnow().date() - self.due_on).days


def due_for(session: Session, customer_id: int, today: date | None = None) -> list[Suggestion]:
    """Products the customer buys regularly and is due for (rule in the module docstring),
    the most overdue first."""
    today = today or utcnow().date()
    horizon = int(get_value(session, "crm.suggestion_horizon_days"))
    rows = session.execute(
        sa.select(Product.sku, Product.name, Product.active, OrderLine.quantity,
                  Order.ordered_at)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(_gone_ahead(customer_id))).all()
    days: dict[str, set[date]] = {}
    quantities: dict[str, list[Decimal]] = {}
    names: dict[str, str] = {}
    for sku, name, active, quantity, at in rows:
        if not active:
            continue
        days.setdefault(sku, set()).add(at.date())
        quantities.setdefault(sku, []).append(Decimal(quantity))
        names[sku] = name
    found = []
    for sku, bought_on in days.items():
        if len(bought_on) < 2:
            continue
        ordered = sorted(bought_on)
        interval = round((ordered[-1] - ordered[0]).days / (len(ordered) - 1))
        due_on = ordered[-1] + timedelta(days=interval)
        if due_on <= today + timedelta(days=horizon):
            usual = sorted(quantities[sku])[len(quantities[sku]) // 2]  # the median
            found.append(Suggestion(sku, names[sku], interval, ordered[-1], due_on,
                                    usual.quantize(Decimal("0.001"))))
    found.sort(key=lambda s: (s.due_on, s.sku))
    return found


def last_order(session: Session, customer_id: int) -> Order | None:
    return session.scalar(sa.select(Order).where(_gone_ahead(customer_id))
                          .order_by(Order.ordered_at.desc(), Order.id.desc()).limit(1))


def reorder_last(session: Session, customer_id: int, *, actor: Any,
                 channel: str | None = None) -> tuple[Intake, list[str]]:
    """A new draft with the lines of the customer's last order at today's list prices,
    through orders' intake; returns it and what changed (also written in its note)."""
    from erpkit import ValidationFailed

    previous = last_order(session, customer_id)
    if previous is None:
        raise ValidationFailed.single("customer_id", "the customer has no earlier order to "
                                      "repeat", code="no_previous_order")
    changes: list[str] = []
    lines = []
    for line in previous.lines:
        product = line.product
        if not product.active:
            changes.append(f"{product.sku} left out: no longer sold")
            continue
        if Decimal(product.unit_price) != Decimal(line.unit_price):
            changes.append(f"{product.sku}: price {Decimal(line.unit_price):.2f} -> "
                           f"{Decimal(product.unit_price):.2f}")
        if Decimal(line.discount_percent):
            changes.append(f"{product.sku}: discount of {Decimal(line.discount_percent):g}% "
                           "not carried over")
        lines.append({"product_id": product.id, "quantity": line.quantity})
    if not lines:
        raise ValidationFailed.single("customer_id", f"nothing of order {previous.number} is "
                                      "still sold", code="nothing_to_repeat")
    note = f"Repeat of order {previous.number}" + (
        ": " + "; ".join(changes) if changes else ": nothing changed")
    intake = create_order(session, {"customer_id": customer_id,
                                    "channel": channel or previous.channel,
                                    "currency": previous.currency,
                                    "lines": lines, "note": note}, actor=actor)
    return intake, changes

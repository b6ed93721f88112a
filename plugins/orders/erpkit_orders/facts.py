"""The facts about an order that approval rules may test, declared and computed here.

Every value has the declared type: money and percentages as :class:`~decimal.Decimal`,
counts as ``int``, and ``None`` when the order does not say (a customer without a region).
Computing facts only reads: it runs inside the submit transaction and in dry runs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import FactDefinition, hookimpl
from erpkit_orders.models import Order
from erpkit_orders.pricing import order_discount_percent

FACTS = (
    FactDefinition("orders.total", "decimal", "The order's total after discounts."),
    FactDefinition("orders.max_line_discount_percent", "decimal",
                   "The largest discount given on any one line, in percent."),
    FactDefinition("orders.order_discount_percent", "decimal",
                   "The whole order's discount as a percentage of its gross amount."),
    FactDefinition("orders.channel", "string",
                   "The channel the order came through (web, store, phone, api...)."),
    FactDefinition("orders.line_count", "integer", "How many lines the order has."),
    FactDefinition("orders.categories", "string_list",
                   "The product categories present on the order's lines."),
    FactDefinition("orders.customer_is_new", "boolean",
                   "The customer has no earlier order that went beyond draft."),
    FactDefinition("orders.customer_region", "string", "The customer's region."),
    FactDefinition("orders.customer_country", "string",
                   "The customer's country (ISO 3166 two-letter code)."),
)


@hookimpl
def erpkit_fact_definitions() -> tuple[FactDefinition, ...]:
    return FACTS


def customer_is_new(session: Session, order: Order) -> bool:
    """Whether no earlier order of the same customer ever left the draft status."""
    # Earlier orders only: this order's pending changes need no flush first.
    with session.no_autoflush:
        earlier = session.scalar(_EARLIER_SUBMITTED, {"customer_id": order.customer_id,
                                                      "order_id": order.id})
    return not earlier


_ORDERS: sa.Table = Order.__table__  # type: ignore[assignment]
#: Built once, on the table's columns: the approvals ask for it on every submission.
_EARLIER_SUBMITTED = sa.select(sa.func.count()).select_from(_ORDERS).where(
    _ORDERS.c.customer_id == sa.bindparam("customer_id"),
    _ORDERS.c.id < sa.bindparam("order_id"),
    _ORDERS.c.status != "draft")


@hookimpl
def erpkit_order_facts(order: Any, session: Session) -> dict[str, Any]:
    lines = list(order.lines)
    customer = order.customer
    return {
        "orders.total": Decimal(order.total),
        "orders.max_line_discount_percent": max(
            (Decimal(line.discount_percent) for line in lines), default=Decimal(0)),
        "orders.order_discount_percent": order_discount_percent(order),
        "orders.channel": order.channel,
        "orders.line_count": len(lines),
        "orders.categories": sorted({line.product.category for line in lines}),
        "orders.customer_is_new": customer_is_new(session, order),
        "orders.customer_region": customer.region if customer is not None else None,
        "orders.customer_country": customer.country if customer is not None else None,
    }

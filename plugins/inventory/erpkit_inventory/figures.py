"""Inventory figures per product for a period, in units (products carry no cost price).

* **turnover** = units shipped in the period, net of returns, / average on hand, where
  average on hand is the mean of the end-of-day on-hand figures of every day of the
  period, replayed from the ledger. ``None`` when nothing was on hand.
* **days of cover** = on hand at the end of the period / average daily net shipments of
  the period: how long the stock lasts at that pace. ``None`` when nothing was shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import ValidationFailed
from erpkit_inventory.demand import demand_between, on_hand_at_end_of_days, returned_between
from erpkit_inventory.models import LedgerEntry, Warehouse
from erpkit_inventory.stock import ZERO, quantity
from erpkit_orders.models import Product


@dataclass(frozen=True)
class ProductFigures:
    sku: str
    name: str
    first: date
    last: date
    shipped: Decimal
    returned: Decimal
    average_on_hand: Decimal
    on_hand_at_end: Decimal
    turnover: Decimal | None
    days_of_cover: Decimal | None


def product_figures(session: Session, product: Product, first: date, last: date,
                    warehouse: Warehouse | None = None) -> ProductFigures:
    """Turnover and days of cover of one product from ``first`` to ``last`` (inclusive)."""
    if last < first:
        raise ValidationFailed.single("to", "the period ends before it starts",
                                      code="bad_period")
    warehouse_id = warehouse.id if warehouse is not None else None
    days = (last - first).days + 1
    shipped = demand_between(session, product.id, warehouse_id, first, last, "shipped")
    returned = returned_between(session, product.id, warehouse_id, first, last)
    balances = on_hand_at_end_of_days(session, product.id, warehouse_id, first, last)
    average = sum(balances, ZERO) / days
    net = max(shipped - returned, ZERO)
    turnover = (net / average).quantize(Decimal("0.01")) if average > 0 else None
    cover = (balances[-1] / (net / days)).quantize(Decimal("0.1")) if net > 0 else None
    return ProductFigures(product.sku, product.name, first, last, shipped, returned,
                          quantity(average), balances[-1], turnover, cover)


def figures(session: Session, first: date, last: date, *, sku: str | None = None,
            warehouse: Warehouse | None = None, limit: int | None = None,
            after: str | None = None) -> list[ProductFigures]:
    """Figures of one product (``sku``) or of the products the ledger knows, in SKU order:
    at most ``limit`` of them, those whose SKU sorts after ``after``."""
    query = sa.select(Product).order_by(Product.sku).limit(limit)
    if sku is not None:
        query = query.where(Product.sku == sku)
    else:
        query = query.where(Product.id.in_(sa.select(LedgerEntry.product_id).distinct()))
    if after is not None:
        query = query.where(Product.sku > after)
    return [product_figures(session, product, first, last, warehouse)
            for product in session.scalars(query)]

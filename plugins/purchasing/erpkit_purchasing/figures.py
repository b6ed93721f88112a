"""Figures for reporting: inventory value, turnover, days of cover and stock-outs per
product for a period, beside purchase spend (:mod:`erpkit_purchasing.spend`).

Turnover and days of cover are the inventory module's figures
(:func:`erpkit_inventory.figures.product_figures`, in units); purchasing adds what it
knows and inventory does not, a cost:

* **unit cost**: the replacement cost, the price of the product's preferred supplier
  (else its cheapest offer); ``None`` without an offer, and then no value;
* **value at end** = on hand at the end of the period x unit cost;
* **average value** = average end-of-day on hand x unit cost;
* **stock-out days**: days of the period that ended with nothing on hand, counted from
  the product's first stock move there (a product never kept in a warehouse is not out
  of stock in it); **stock-outs**: how many times the stock ran out (such a day after
  one that ended with some stock, or the first counted day when it starts empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_inventory.demand import on_hand_at_end_of_days
from erpkit_inventory.figures import ProductFigures
from erpkit_inventory.figures import figures as inventory_figures
from erpkit_inventory.models import LedgerEntry, Warehouse
from erpkit_orders.models import Product
from erpkit_purchasing.suppliers import preferred_offers

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class StockFigures:
    """One product's figures for a period (units from inventory, money from purchasing)."""

    sku: str
    name: str
    first: date
    last: date
    unit_cost: Decimal | None
    shipped: Decimal
    returned: Decimal
    average_on_hand: Decimal
    on_hand_at_end: Decimal
    average_value: Decimal | None
    value_at_end: Decimal | None
    turnover: Decimal | None
    days_of_cover: Decimal | None
    stockout_days: int
    stockouts: int


def stockouts(balances: list[Decimal], skip: int = 0) -> tuple[int, int]:
    """(days ending with nothing on hand, times the stock ran out) of a daily series,
    leaving out its first ``skip`` days."""
    empty = [balance <= 0 for balance in balances[skip:]]
    runs = sum(1 for index, out in enumerate(empty) if out and (index == 0 or not empty[index - 1]))
    return sum(empty), runs


def _value(units: Decimal, cost: Decimal | None) -> Decimal | None:
    return None if cost is None else (units * cost).quantize(CENTS)


def _with_money(session: Session, units: ProductFigures, product: Product,
                warehouse: Warehouse | None, unit_cost: Decimal | None) -> StockFigures:
    balances = on_hand_at_end_of_days(session, product.id,
                                      warehouse.id if warehouse is not None else None,
                                      units.first, units.last)
    out_days, runs = stockouts(balances, _days_before_first_move(
        session, product.id, warehouse, units.first, len(balances)))
    return StockFigures(
        sku=units.sku, name=units.name, first=units.first, last=units.last,
        unit_cost=unit_cost, shipped=units.shipped, returned=units.returned,
        average_on_hand=units.average_on_hand, on_hand_at_end=units.on_hand_at_end,
        average_value=_value(units.average_on_hand, unit_cost),
        value_at_end=_value(units.on_hand_at_end, unit_cost),
        turnover=units.turnover, days_of_cover=units.days_of_cover,
        stockout_days=out_days, stockouts=runs)


def _days_before_first_move(session: Session, product_id: int, warehouse: Warehouse | None,
                            first: date, days: int) -> int:
    """Days of the period before the product's first stock move (in ``warehouse``)."""
    query = sa.select(sa.func.min(LedgerEntry.at)).where(LedgerEntry.product_id == product_id)
    if warehouse is not None:
        query = query.where(LedgerEntry.warehouse_id == warehouse.id)
    earliest = session.scalar(query)
    if earliest is None:
        return days
    day = (earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC)).astimezone(UTC).date()
    return min(max((day - first).days, 0), days)


def unit_costs(session: Session, product_ids: list[int]) -> dict[int, Decimal]:
    """The replacement cost of each product that has an offer."""
    return {product_id: Decimal(offer.price)
            for product_id, offer in preferred_offers(session, product_ids).items()}


def figures(session: Session, first: date, last: date, *, sku: str | None = None,
            warehouse: Warehouse | None = None, limit: int = 100,
            after: str | None = None) -> list[StockFigures]:
    """Figures of one product (``sku``) or of the products the ledger knows, in SKU
    order: at most ``limit``, those whose SKU sorts after ``after`` (the products the
    inventory module's figures list). The caller bounds the period
    (``core.max_report_days``)."""
    rows = inventory_figures(session, first, last, sku=sku, warehouse=warehouse, limit=limit,
                             after=after)
    products = {product.sku: product for product in session.scalars(
        sa.select(Product).where(Product.sku.in_([row.sku for row in rows])))}
    costs = unit_costs(session, [product.id for product in products.values()])
    return [_with_money(session, row, products[row.sku], warehouse,
                        costs.get(products[row.sku].id)) for row in rows]


def total_value(rows: list[StockFigures]) -> Decimal:
    """The value at the end of the period of the rows that have a cost."""
    return sum((row.value_at_end for row in rows if row.value_at_end is not None),
               Decimal("0.00"))

"""The set-based part of ``erpkit report rebuild``: the sales of every order and line, one
``INSERT ... SELECT ... GROUP BY`` per rollup, on SQLite and PostgreSQL alike.

The definitions are those of :mod:`erpkit_reporting.contributions` (``add_sale`` and the
``created`` quality count), written in SQL:

* a sale is an order whose status is one of ``SALE_STATUSES``, on the UTC day of its
  ``ordered_at``; its place is the ship-to country and region, else the customer's;
* money is turned into integer cents per order and per line *before* summing,
  ``CAST(ROUND(amount * 100) AS BIGINT)``, and quantities into thousandths: the columns
  hold at most two (three) decimals, so the rounding only removes SQLite's float noise
  and every sum is of integers, exact on both backends (what
  :func:`~erpkit_reporting.money.to_cents` does in Python). ``erpkit report check``
  compares the result with the Python recomputation.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting import contributions as c
from erpkit_reporting.models import (
    CustomerDaily,
    DailyCategorySales,
    DailyProductSales,
    DailyQuality,
    DailySales,
    MonthlyProductSales,
)


def day_of(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _month(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc("month", sa.func.timezone("UTC", column)), sa.Date)
    return sa.func.date(column, "start of month")


def _integer(amount: Any, scale: int) -> Any:
    return sa.cast(sa.func.round(sa.func.coalesce(amount, 0) * scale), sa.BigInteger)


def _text(column: Any) -> Any:
    return sa.func.coalesce(sa.func.nullif(column, ""), "")


def _orders(session: Session, *, sales_only: bool = True) -> Any:
    """One row per order: its day, month, place, customer and money in cents."""
    from erpkit_orders.models import Customer, Order

    query = (sa.select(
        Order.id.label("order_id"), day_of(session, Order.ordered_at).label("day"),
        _month(session, Order.ordered_at).label("month"),
        _text(Order.channel).label("channel"),
        sa.func.coalesce(sa.func.nullif(Order.ship_to_country, ""),
                         sa.func.nullif(Customer.country, ""), "").label("country"),
        sa.func.coalesce(sa.func.nullif(Order.ship_to_region, ""),
                         sa.func.nullif(Customer.region, ""), "").label("region"),
        Order.customer_id.label("customer_id"),
        _integer(Order.total, 100).label("revenue_cents"),
        _integer(Order.subtotal, 100).label("gross_cents"),
        _integer(Order.discount_total, 100).label("discount_cents"),
        _integer(Order.shipping_charge, 100).label("shipping_cents"))
        .join(Customer, Customer.id == Order.customer_id))
    if sales_only:
        query = query.where(Order.status.in_(sorted(c.SALE_STATUSES)))
    return query.subquery("o")


def _lines(session: Session) -> Any:
    """One row per line of a sale, with its order's day, month and place."""
    from erpkit_orders.models import OrderLine, Product

    orders = _orders(session)
    return (sa.select(orders.c.order_id, orders.c.day, orders.c.month, orders.c.channel,
                      orders.c.country, orders.c.region, OrderLine.product_id,
                      _text(Product.category).label("category"),
                      _integer(OrderLine.quantity, 1000).label("units_milli"),
                      _integer(OrderLine.line_total, 100).label("revenue_cents"))
            .join(OrderLine, OrderLine.order_id == orders.c.order_id)
            .join(Product, Product.id == OrderLine.product_id)).subquery("l")


def _insert(session: Session, model: Any, select: Any) -> None:
    columns = [column.name for column in select.selected_columns]
    session.execute(sa.insert(model).from_select(columns, select))


def insert_sales(session: Session) -> None:
    """Fill the sales rollups and the ``created`` counts from the orders, set-based. The
    tables must be empty (the rebuild deletes them first)."""
    from erpkit_orders.models import OrderLine

    orders = _orders(session)
    per_order = (sa.select(OrderLine.order_id, sa.func.count().label("lines"),
                           sa.func.sum(_integer(OrderLine.quantity, 1000)).label("milli"))
                 .group_by(OrderLine.order_id).subquery("per_order"))
    place = [orders.c.day, orders.c.channel, orders.c.country, orders.c.region]
    _insert(session, DailySales, sa.select(
        *place, sa.func.count().label("orders"),
        sa.func.coalesce(sa.func.sum(per_order.c.lines), 0).label("lines"),
        sa.func.coalesce(sa.func.sum(per_order.c.milli), 0).label("units_milli"),
        sa.func.sum(orders.c.revenue_cents).label("revenue_cents"),
        sa.func.sum(orders.c.gross_cents).label("gross_cents"),
        sa.func.sum(orders.c.discount_cents).label("discount_cents"),
        sa.func.sum(orders.c.shipping_cents).label("shipping_cents"))
        .outerjoin(per_order, per_order.c.order_id == orders.c.order_id).group_by(*place))
    _insert(session, CustomerDaily, sa.select(
        orders.c.day, orders.c.customer_id, orders.c.channel, orders.c.country,
        orders.c.region, sa.func.count().label("orders"),
        sa.func.sum(orders.c.revenue_cents).label("revenue_cents"))
        .group_by(orders.c.day, orders.c.customer_id, orders.c.channel, orders.c.country,
                  orders.c.region))
    lines = _lines(session)
    sums = [sa.func.count(sa.distinct(lines.c.order_id)).label("orders"),
            sa.func.count().label("lines"),
            sa.func.sum(lines.c.units_milli).label("units_milli"),
            sa.func.sum(lines.c.revenue_cents).label("revenue_cents")]
    line_place = [lines.c.day, lines.c.channel, lines.c.country, lines.c.region]
    product = [*line_place, lines.c.product_id, lines.c.category]
    _insert(session, DailyProductSales, sa.select(*product, *sums).group_by(*product))
    monthly = [lines.c.month, lines.c.product_id, lines.c.category]
    _insert(session, MonthlyProductSales, sa.select(*monthly, *sums).group_by(*monthly))
    category = [*line_place, lines.c.category]
    _insert(session, DailyCategorySales, sa.select(*category, *sums).group_by(*category))
    everything = _orders(session, sales_only=False)
    _insert(session, DailyQuality, sa.select(
        everything.c.day, everything.c.channel, sa.literal("created").label("kind"),
        sa.func.count().label("count")).group_by(everything.c.day, everything.c.channel))

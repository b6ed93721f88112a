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

import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting import contributions as c
from erpkit_reporting import queries as q
from erpkit_reporting.models import (
    CustomerDaily,
    CustomerPeriod,
    DailyCategorySales,
    DailyProductSales,
    DailyQuality,
    DailySales,
    MonthlyProductSales,
)

log = logging.getLogger(__name__)


def day_of(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _month_of_day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc("month", column), sa.Date)
    return sa.func.substr(sa.cast(column, sa.String), 1, 7) + "-01"


def _integer(amount: Any, scale: int) -> Any:
    return sa.cast(sa.func.round(sa.func.coalesce(amount, 0) * scale), sa.BigInteger)


def _text(column: Any) -> Any:
    return sa.func.coalesce(sa.func.nullif(column, ""), "")


def seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    """Whole seconds from ``earlier`` to ``later``, truncated toward zero as Python's
    ``int(timedelta.total_seconds())`` is (SQLite keeps the microseconds after the dot)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.trunc(sa.extract("epoch", later - earlier)), sa.BigInteger)

    def micro(column: Any) -> Any:
        # the whole seconds of the text without its fraction: SQLite's date functions keep
        # milliseconds and would round ...:59.999999 up to the next second
        return (sa.cast(sa.func.strftime("%s", sa.func.substr(column, 1, 19)), sa.BigInteger)
                * 1_000_000
                + sa.cast(sa.func.substr(column, 21, 6), sa.BigInteger))

    # SQLite divides integers toward zero
    return sa.cast((micro(later) - micro(earlier)) / sa.literal(1_000_000, sa.BigInteger),
                   sa.BigInteger)


def _greater(session: Session, a: Any, b: Any) -> Any:
    name = "greatest" if session.get_bind().dialect.name == "postgresql" else "max"
    return getattr(sa.func, name)(a, b)


def _fulfilment(session: Session) -> list[Any]:
    """The order's shipment and delivery (``add_shipped`` / ``add_delivered``), as 0/1 flags
    and seconds, to be summed by day and place."""
    from erpkit_orders.models import Order

    def flag(condition: Any) -> Any:
        return sa.case((condition, 1), else_=0)

    shipped = Order.shipped_at.is_not(None)
    delivered = Order.delivered_at.is_not(None)
    due = sa.func.coalesce(Order.promised_date, Order.requested_date)
    seconds = sa.case((shipped, _greater(session, 0, seconds_between(
        session, Order.shipped_at, Order.ordered_at))), else_=None)
    return [
        flag(shipped).label("shipped"), seconds.label("ship_seconds"),
        flag(shipped & Order.requested_date.is_not(None)
             & (day_of(session, Order.shipped_at) > Order.requested_date)).label("late"),
        flag(delivered).label("delivered"),
        flag(delivered & due.is_not(None)).label("with_due"),
        flag(delivered & due.is_not(None)
             & (day_of(session, Order.delivered_at) <= due)).label("on_time")]


def _orders(session: Session, *, sales_only: bool = True) -> Any:
    """One row per order: its day, place, customer and money in cents (and, for sales,
    its shipment and delivery)."""
    from erpkit_orders.models import Customer, Order

    query = (sa.select(
        Order.id.label("order_id"), day_of(session, Order.ordered_at).label("day"),
        _text(Order.channel).label("channel"),
        sa.func.coalesce(sa.func.nullif(Order.ship_to_country, ""),
                         sa.func.nullif(Customer.country, ""), "").label("country"),
        sa.func.coalesce(sa.func.nullif(Order.ship_to_region, ""),
                         sa.func.nullif(Customer.region, ""), "").label("region"),
        Order.customer_id.label("customer_id"),
        _integer(Order.total, 100).label("revenue_cents"),
        _integer(Order.subtotal, 100).label("gross_cents"),
        _integer(Order.discount_total, 100).label("discount_cents"),
        _integer(Order.shipping_charge, 100).label("shipping_cents"),
        *(_fulfilment(session) if sales_only else []))
        .join(Customer, Customer.id == Order.customer_id))
    if sales_only:
        query = query.where(Order.status.in_(sorted(c.SALE_STATUSES)))
    return query.subquery("o")


def _lines(session: Session) -> Any:
    """One row per line of a sale, with its order's day and place."""
    from erpkit_orders.models import OrderLine, Product

    orders = _orders(session)
    return (sa.select(orders.c.order_id, orders.c.day, orders.c.channel,
                      orders.c.country, orders.c.region, OrderLine.product_id,
                      _text(Product.category).label("category"),
                      _integer(OrderLine.quantity, 1000).label("units_milli"),
                      _integer(OrderLine.line_total, 100).label("revenue_cents"))
            .join(OrderLine, OrderLine.order_id == orders.c.order_id)
            .join(Product, Product.id == OrderLine.product_id)).subquery("l")


def _insert(session: Session, model: Any, select: Any) -> None:
    """``INSERT INTO model SELECT ...``; the table's secondary indexes are dropped for it
    and built again after, in the same transaction: sorting millions of keys once is
    faster than inserting each into a B-tree (the rebuild's SQL at a million orders on
    SQLite: 123 s with the indexes kept, 85 s so)."""
    started = time.perf_counter()
    columns = [column.name for column in select.selected_columns]
    indexes = list(model.__table__.indexes)
    connection = session.connection()
    for index in indexes:
        index.drop(connection)
    session.execute(sa.insert(model).from_select(columns, select))
    for index in indexes:
        index.create(connection)
    # per statement, to see which one a rebuild's time goes to (``--log-level debug``)
    log.debug("rebuild: %s filled in %.1f s", model.__tablename__,
              time.perf_counter() - started)


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
        sa.func.sum(orders.c.shipping_cents).label("shipping_cents"),
        sa.func.sum(orders.c.shipped).label("shipped_orders"),
        sa.func.coalesce(sa.func.sum(orders.c.ship_seconds), 0).label("ship_seconds"),
        sa.func.min(orders.c.ship_seconds).label("ship_seconds_min"),
        sa.func.max(orders.c.ship_seconds).label("ship_seconds_max"),
        sa.func.sum(orders.c.late).label("shipped_late"),
        sa.func.sum(orders.c.delivered).label("delivered_orders"),
        sa.func.sum(orders.c.with_due).label("delivered_with_due"),
        sa.func.sum(orders.c.on_time).label("delivered_on_time"))
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
    # the monthly rollup from the daily one (an order is on one day, so the orders add up
    # across days): a pass over its rows instead of another join and sort of every line
    daily = DailyProductSales.__table__.alias("daily")
    month = _month_of_day(session, daily.c.day).label("month")
    by_month = sa.select(month, daily.c.product_id, daily.c.category, daily.c.orders,
                         daily.c.lines, daily.c.units_milli,
                         daily.c.revenue_cents).subquery("by_month")
    keys = [by_month.c.month, by_month.c.product_id, by_month.c.category]
    _insert(session, MonthlyProductSales, sa.select(
        *keys, *[sa.func.sum(by_month.c[name]).label(name)
                 for name in ("orders", "lines", "units_milli", "revenue_cents")])
        .group_by(*keys))
    category = [*line_place, lines.c.category]
    _insert(session, DailyCategorySales, sa.select(*category, *sums).group_by(*category))
    everything = _orders(session, sales_only=False)
    _insert(session, DailyQuality, sa.select(
        everything.c.day, everything.c.channel, sa.literal("created").label("kind"),
        sa.func.count().label("count")).group_by(everything.c.day, everything.c.channel))
    insert_quality_events(session)


def insert_quality_events(session: Session) -> None:
    """The rejections, cancellations and returns (``QUALITY_STATUSES``): each status event
    entering one, on its day; an order in one of them without such an event (history kept
    without steps) on the day of its last status change."""
    from erpkit_orders.models import Order, TimelineEvent

    kinds = list(c.QUALITY_STATUSES)
    entered = (sa.select(day_of(session, TimelineEvent.at).label("day"),
                         _text(Order.channel).label("channel"),
                         TimelineEvent.to_status.label("kind"))
               .join(Order, Order.id == TimelineEvent.order_id)
               .where(TimelineEvent.kind == "status", TimelineEvent.to_status.in_(kinds)))
    has_event = sa.select(sa.literal(1)).where(
        TimelineEvent.order_id == Order.id, TimelineEvent.kind == "status",
        TimelineEvent.to_status == Order.status).exists()
    without = (sa.select(day_of(session, Order.status_changed_at).label("day"),
                         _text(Order.channel).label("channel"), Order.status.label("kind"))
               .where(Order.status.in_(kinds), ~has_event))
    events = sa.union_all(entered, without).subquery("events")
    _insert(session, DailyQuality, sa.select(
        events.c.day, events.c.channel, events.c.kind, sa.func.count().label("count"))
        .group_by(events.c.day, events.c.channel, events.c.kind))


def returned_orders(session: Session) -> dict[int, Any]:
    """The sales that came back and when (``rebuild.returned_on``): their first
    ``returned`` status event, else (none) the last status change of a returned order."""
    from erpkit_orders.models import Order, TimelineEvent

    first = (sa.select(TimelineEvent.order_id, sa.func.min(TimelineEvent.id).label("id"))
             .where(TimelineEvent.kind == "status", TimelineEvent.to_status == "returned")
             .group_by(TimelineEvent.order_id).subquery("first_return"))
    found = {order_id: at for order_id, at in session.execute(
        sa.select(TimelineEvent.order_id, TimelineEvent.at)
        .join(first, first.c.id == TimelineEvent.id)
        .join(Order, Order.id == TimelineEvent.order_id)
        .where(Order.status.in_(sorted(c.SALE_STATUSES))))}
    for order_id, at in session.execute(sa.select(Order.id, Order.status_changed_at).where(
            Order.status == "returned", Order.id.not_in(sa.select(first.c.order_id)))):
        found[order_id] = at
    return found


def insert_customer_periods(session: Session) -> None:
    """Fill :class:`~erpkit_reporting.models.CustomerPeriod` (month, quarter, year and all
    time per customer) from the customers' daily rows just filled."""
    for grain, by in (*c.CUSTOMER_GRAINS, (c.ALL_TIME, None)):
        period = q.period_sql(session, CustomerDaily.day, by) if by \
            else sa.literal(c.ALL_TIME_KEY, sa.Date)
        _insert(session, CustomerPeriod, sa.select(
            sa.literal(grain).label("grain"), period.label("period"), CustomerDaily.customer_id,
            sa.func.sum(CustomerDaily.orders).label("orders"),
            sa.func.sum(CustomerDaily.revenue_cents).label("revenue_cents"))
            .group_by(period, CustomerDaily.customer_id))

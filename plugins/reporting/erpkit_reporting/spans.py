"""Customer spans: distinct and repeat customers of any range without a row per customer.

:class:`~erpkit_reporting.models.CustomerSpan` counts, for every customer, the pairs of
their sales one apart (consecutive) and two apart, by the days of the two ends. A customer
with ``k >= 1`` sales in a range has ``k - 1`` spans of apart 1 and ``max(0, k - 2)`` of
apart 2 with both ends in it, so summed over customers, with ``N`` the sales in the range:

* customers with a sale: ``N - S1`` (each such customer adds ``k - (k - 1) = 1``);
* repeat customers (two sales or more): ``S1 - S2`` (``(k - 1) - (k - 2) = 1`` for
  ``k >= 2``, nothing for ``k = 1``).

A sale's days are those of ``Order.ordered_at`` (UTC), the day the sales rollups book it
on; a sale is an order in ``SALE_STATUSES``. Taking a sale in or out only changes the
spans around it: those of its two neighbours on either side
(:func:`sale_changed`), one query and no row per customer.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting import contributions as c
from erpkit_reporting.models import CustomerSpan

TABLE = CustomerSpan.__tablename__
APARTS = (1, 2)


DAYS, MONTHS = "d", "m"


def add_spans(changes: c.Changes, days: Sequence[date], sign: int = 1) -> None:
    """Add the spans of one customer's sale days (sorted) to ``changes``, times ``sign``:
    by days and by months."""
    for apart in APARTS:
        for index in range(len(days) - apart):
            first, last = days[index], days[index + apart]
            c.add_to(changes, TABLE, (DAYS, apart, first, last), count=sign)
            c.add_to(changes, TABLE, (MONTHS, apart, first.replace(day=1),
                                      last.replace(day=1)), count=sign)


def add_sale_between(changes: c.Changes, before: Iterable[date], after: Iterable[date],
                     day: date, sign: int = 1) -> None:
    """A sale on ``day`` taken in (``sign=1``) or out (``-1``) between a customer's other
    sales: ``before`` the (up to two) latest days on or before ``day``, ``after`` the (up to
    two) earliest after it. Only spans with an end among these can change."""
    around = sorted([*before, *after])
    add_spans(changes, sorted([*around, day]), sign)
    add_spans(changes, around, -sign)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def neighbour_days(session: Session, order_id: int, customer_id: int,
                   day: date) -> tuple[list[date], list[date]]:
    """The customer's other sales nearest ``day``: the two latest on or before it and the
    two earliest after it (their days), in one query."""
    from erpkit_orders.models import Order

    bound = _midnight(day + timedelta(days=1))
    earlier: list[date] = []
    later: list[date] = []
    # Only the customer's other orders matter: flush first only when one of them is
    # pending, so the order being confirmed is not written an extra time (an UPDATE more).
    if any(isinstance(obj, Order) and obj.customer_id == customer_id and obj.id != order_id
           for pending in (session.new, session.dirty) for obj in pending):
        session.flush()
    with session.no_autoflush:
        for at in session.scalars(_neighbours(), {"customer_id": customer_id,
                                                  "order_id": order_id, "bound": bound}):
            (earlier if at < bound else later).append(at.date())
    return earlier, later


@functools.cache
def _neighbours() -> Any:
    # Built once with bound parameters: building it on every confirmation cost as much
    # as running it (bench/profile_pipeline.py).
    # on the table's columns, a Core statement: half the cost of an ORM one
    from erpkit_orders.models import Order

    orders: sa.Table = Order.__table__  # type: ignore[assignment]
    at = orders.c.ordered_at
    bound = sa.bindparam("bound", type_=at.type)
    base = sa.select(at.label("at")).where(
        orders.c.customer_id == sa.bindparam("customer_id"),
        orders.c.id != sa.bindparam("order_id"), orders.c.status.in_(sorted(c.SALE_STATUSES)))
    before = base.where(at < bound).order_by(at.desc()).limit(2)
    after = base.where(at >= bound).order_by(at).limit(2)
    # named for reporting, so the statement counts (tests) see it is one of ours
    neighbours = sa.union_all(sa.select(before.subquery()),
                              sa.select(after.subquery())).subquery("reporting_neighbours")
    return sa.select(neighbours)


def sale_changed(session: Session, changes: c.Changes, facts: c.OrderFacts,
                 sign: int) -> None:
    """The order ``facts`` became a sale (``sign=1``) or stopped being one (``-1``)."""
    before, after = neighbour_days(session, facts.id, facts.customer_id, facts.day)
    add_sale_between(changes, before, after, facts.day, sign)


def sale_days(session: Session, customer_ids: Iterable[int]) -> dict[int, list[tuple[int, date]]]:
    """Each customer's sales as (order id, day), oldest first."""
    from erpkit_orders.models import Order

    ids = sorted(set(customer_ids))
    found: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for start in range(0, len(ids), 5000):
        for customer_id, order_id, at in session.execute(
                sa.select(Order.customer_id, Order.id, Order.ordered_at)
                .where(Order.customer_id.in_(ids[start:start + 5000]),
                       Order.status.in_(sorted(c.SALE_STATUSES)))
                .order_by(Order.customer_id, Order.ordered_at, Order.id)):
            found[customer_id].append((order_id, at.date()))
    return found


def add_new_sales(session: Session, changes: c.Changes, customer_ids: Iterable[int],
                  new_order_ids: set[int]) -> None:
    """Orders ``new_order_ids`` (sales already in the orders table, not yet in the rollups:
    a batch of history) of ``customer_ids``: their customers' spans with them, less the
    spans without them."""
    for sales in sale_days(session, customer_ids).values():
        add_spans(changes, [day for _, day in sales])
        add_spans(changes, [day for order_id, day in sales if order_id not in new_order_ids],
                  -1)


# --- reading --------------------------------------------------------------------------

Counts = dict[int, int]


def _empty() -> Counts:
    return dict.fromkeys(APARTS, 0)


def _rows(session: Session, grain: str, *conditions: Any) -> list[tuple[int, date, date, int]]:
    table = CustomerSpan
    return [(int(apart), as_date(first), as_date(last), int(count)) for apart, first, last, count
            in session.execute(sa.select(table.apart, table.first_day, table.last_day,
                                         table.count)
                               .where(table.grain == grain, table.apart.in_(APARTS),
                                      table.count != 0, *conditions))]


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def inside(session: Session, first: date, last: date, by: str | None,
           months: tuple[date, date] | None) -> tuple[Counts, dict[date, Counts]]:
    """Spans with both ends in ``first`` .. ``last``: in all, and per period of kind ``by``
    (those whose two ends fall in the same period), keyed by the period's first day.

    ``months``: the whole months [start, end) the monthly rows may answer for
    (:func:`erpkit_reporting.queries.whole_months`), or None; by ``day`` or ``week``
    (periods inside a month) every span is read by its days."""
    from erpkit_reporting.periods import period_start

    table = CustomerSpan
    if by in ("day", "week"):
        months = None
    # The day the index should range over is bounded on both sides (a span's first day is
    # never after its last), and the other day is compared through an expression no index
    # serves: given the choice, SQLite's planner took the index of the last day and read
    # most of the table for a one-day range.
    unindexed_last = sa.func.coalesce(table.last_day, table.last_day)
    if months is None:
        rows = _rows(session, DAYS, table.first_day.between(first, last),
                     unindexed_last <= last)
        monthly: list[tuple[int, date, date, int]] = []
    else:
        start, end = months
        rows = []
        if first < start:  # the days of a partial first month
            rows += _rows(session, DAYS, table.first_day >= first, table.first_day < start,
                          unindexed_last <= last)
        if end <= last:  # the days of a partial last month
            rows += _rows(session, DAYS, table.first_day >= start, table.first_day <= last,
                          table.last_day >= end, table.last_day <= last)
        monthly = _rows(session, MONTHS, table.first_day >= start, table.first_day < end,
                        table.last_day < end)
    total = _empty()
    periods: dict[date, Counts] = defaultdict(_empty)
    for apart, first_day, last_day, count in (*rows, *monthly):
        total[apart] += count
        if by is not None and (begins := period_start(first_day, by)) == period_start(
                last_day, by):
            periods[begins][apart] += count
    return total, dict(periods)


def counts(sales: int, spans: Counts) -> tuple[int, int]:
    """(customers with a sale, repeat customers) from the sales and spans of a range."""
    return sales - spans[1], spans[1] - spans[2]


# --- rebuilding -------------------------------------------------------------------------


def insert_spans(session: Session, day_of: Any, month_of: Any) -> None:
    """Fill the (empty) span table from the orders, set-based: each sale's next and next
    but one sale of its customer by a window function, counted by pair of days, then
    those by pair of months. ``day_of``: the SQL UTC day of a timestamp column;
    ``month_of``: the first day of a date column's month."""
    from erpkit_orders.models import Order

    day = day_of(Order.ordered_at)
    order = (Order.ordered_at, Order.id)
    sales = (sa.select(day.label("first_day"),
                       sa.func.lead(day, 1).over(partition_by=Order.customer_id,
                                                 order_by=order).label("next_1"),
                       sa.func.lead(day, 2).over(partition_by=Order.customer_id,
                                                 order_by=order).label("next_2"))
             .where(Order.status.in_(sorted(c.SALE_STATUSES))).subquery("sales"))
    columns = ["grain", "apart", "first_day", "last_day", "count"]
    for apart in APARTS:
        last = sales.c[f"next_{apart}"]
        session.execute(sa.insert(CustomerSpan).from_select(columns, sa.select(
            sa.literal(DAYS), sa.literal(apart), sales.c.first_day, last, sa.func.count())
            .where(last.is_not(None)).group_by(sales.c.first_day, last)))
    daily = CustomerSpan.__table__.alias("daily")
    first_month, last_month = month_of(daily.c.first_day), month_of(daily.c.last_day)
    by_month = (sa.select(daily.c.apart, first_month.label("first_month"),
                          last_month.label("last_month"), daily.c.count)
                .where(daily.c.grain == DAYS).subquery("by_month"))
    session.execute(sa.insert(CustomerSpan).from_select(columns, sa.select(
        sa.literal(MONTHS), by_month.c.apart, by_month.c.first_month, by_month.c.last_month,
        sa.func.sum(by_month.c.count))
        .group_by(by_month.c.apart, by_month.c.first_month, by_month.c.last_month)))

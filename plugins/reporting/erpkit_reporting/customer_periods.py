"""Figures per customer over any range, from the coarsest rows that answer it.

A report by customer sums every customer's sales in the range. Read from the daily rows
that is one row per customer and sale day (most of a million orders for a year);
:class:`~erpkit_reporting.models.CustomerPeriod` keeps the same sums per month, quarter,
year and all time, so the range is cut into the largest whole periods inside it
(:func:`whole_periods`) and only the days of a partial month at either end are read from
the daily rows. A period that reaches past an end of the range still counts as whole when
the days outside the range have no sales (the current year, for a range that ends today).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import Base
from erpkit_reporting import contributions as c
from erpkit_reporting import queries as q
from erpkit_reporting.catalogue import Params
from erpkit_reporting.models import CustomerDaily, CustomerFirstSale, CustomerPeriod
from erpkit_reporting.periods import next_period, period_start

ONE_DAY = timedelta(days=1)
EVER, NEVER = date.min, date.max
#: PostgreSQL's ``work_mem`` for the sums per customer (about 350 bytes a customer).
GROUPING_MEMORY = "64MB"


@dataclass(frozen=True)
class Pieces:
    """A range cut into whole periods (``(grain, first day)``) and leftover day ranges."""

    periods: tuple[tuple[str, date], ...]
    days: tuple[tuple[date, date], ...]


def whole_periods(session: Session, first: date, last: date) -> Pieces:
    """Cut ``first`` .. ``last`` into the largest whole years, quarters and months inside
    it (or reaching past it over days without sales) and the days left over; a range
    holding every sale is the one period of all time."""
    if not q.any_sales(session, EVER, first - ONE_DAY) and \
            not q.any_sales(session, last + ONE_DAY, NEVER):
        return Pieces(((c.ALL_TIME, c.ALL_TIME_KEY),), ())
    periods: list[tuple[str, date]] = []
    days: list[tuple[date, date]] = []
    cursor = first
    while cursor <= last:
        for grain, by in reversed(c.CUSTOMER_GRAINS):
            start = period_start(cursor, by)
            end = next_period(start, by) - ONE_DAY
            if start < cursor and (cursor != first
                                   or q.any_sales(session, start, cursor - ONE_DAY)):
                continue
            if end > last and q.any_sales(session, last + ONE_DAY, end):
                continue
            periods.append((grain, start))
            cursor = end + ONE_DAY
            break
        else:  # not even the month is whole: its days, up to the month's end
            stop = min(last, next_period(period_start(cursor, "month"), "month") - ONE_DAY)
            days.append((cursor, stop))
            cursor = stop + ONE_DAY
    return Pieces(tuple(periods), tuple(days))


def _parts(session: Session, params: Params) -> list[Any]:
    """``SELECT customer_id, orders, revenue_cents`` of the rows that add up to the range:
    whole periods and leftover days, or only daily rows when a place filter applies (the
    period rows have no place)."""
    def select(model: Any, *conditions: Any) -> Any:
        if params.customer_ids is not None:  # a plugin's filter (crm's customer group)
            conditions = (*conditions, model.customer_id.in_(sorted(params.customer_ids)))
        return sa.select(model.customer_id, model.orders, model.revenue_cents).where(*conditions)

    if any(name in params.filters for name in q.PLACE):
        return [select(CustomerDaily, *q.where(CustomerDaily, params))]
    pieces = whole_periods(session, params.date_from, params.date_to)
    parts = []
    for grain in (c.ALL_TIME, *(grain for grain, _by in c.CUSTOMER_GRAINS)):
        starts = [start for g, start in pieces.periods if g == grain]
        if starts:
            parts.append(select(CustomerPeriod, CustomerPeriod.grain == grain,
                                CustomerPeriod.period.in_(starts)))
    parts += [select(CustomerDaily, CustomerDaily.day.between(first, last))
              for first, last in pieces.days]
    return parts


@dataclass(frozen=True)
class CustomerTotals:
    """The customers with a sale in a range, the largest by revenue first."""

    rows: list[tuple[int, int, int]]  # (customer_id, orders, revenue_cents), up to the limit
    customers: int
    orders: int
    revenue_cents: int


def by_customer(session: Session, params: Params, limit: int | None) -> CustomerTotals:
    """Orders and revenue of every customer with a sale in the range (net orders above
    zero), the largest revenue first (ties by customer id), at most ``limit`` of them, and
    the totals over all of them.

    One statement: the sums per customer are a CTE read twice (SQLite and PostgreSQL
    materialise it once), for the first ``limit`` rows and for the totals; a window
    function over the groups for the totals took twice as long on SQLite."""
    parts = _parts(session, params)
    if not parts:
        return CustomerTotals([], 0, 0, 0)
    if session.get_bind().dialect.name == "postgresql":
        # the sums of tens of thousands of customers outgrow the default work_mem (4 MB)
        # and the grouping spilled to disk in batches; for this read transaction only
        session.execute(sa.text(f"SET LOCAL work_mem = '{GROUPING_MEMORY}'"))
    combined: Any = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    rows = combined.subquery("rows")
    orders = sa.func.sum(rows.c.orders)
    per_customer = (sa.select(rows.c.customer_id, orders.label("orders"),
                              sa.func.sum(rows.c.revenue_cents).label("cents"))
                    .group_by(rows.c.customer_id).having(orders > 0).cte("per_customer"))
    largest = (sa.select(per_customer.c.customer_id, per_customer.c.orders,
                         per_customer.c.cents, sa.literal(0).label("customers"))
               .order_by(per_customer.c.cents.desc(), per_customer.c.customer_id)
               .limit(limit).subquery("largest"))
    totals = sa.select(sa.null(), sa.func.sum(per_customer.c.orders),
                       sa.func.sum(per_customer.c.cents), sa.func.count())
    found = session.execute(sa.union_all(sa.select(largest), totals)).all()
    total = next(row for row in found if row[0] is None)
    top = sorted(((int(r[0]), int(r[1]), int(r[2])) for r in found if r[0] is not None),
                 key=lambda row: (-row[2], row[0]))
    return CustomerTotals(top, int(total[3]), int(total[1] or 0), int(total[2] or 0))


# --- new customers ------------------------------------------------------------------------


def refresh_first_revenue(session: Session, customer_ids: list[int] | None = None) -> None:
    """Set each customer's revenue in the month, quarter and year of their first sale from
    their :class:`CustomerPeriod` rows (every customer, or those given): one ``UPDATE``,
    run after the period rows and first days changed, so whatever moved them (a sale, a
    cancellation, a return, a sale dated before the first) leaves the two equal."""
    statement = _first_revenue_update(session.get_bind().dialect.name, customer_ids is not None)
    if customer_ids is None:
        session.execute(statement)
    else:
        session.execute(statement, {"customer_ids": sorted(customer_ids)})


@functools.cache
def _first_revenue_update(dialect: str, some: bool) -> Any:
    # Built once per dialect: building it took half of its cost on every confirmation
    # (three correlated subqueries; bench/profile_pipeline.py).
    table = Base.metadata.tables[CustomerFirstSale.__tablename__]
    values = {}
    for grain, by in c.CUSTOMER_GRAINS:
        values[f"{by}_cents"] = sa.func.coalesce(
            sa.select(CustomerPeriod.revenue_cents)
            .where(CustomerPeriod.grain == grain,
                   CustomerPeriod.period == q.period_sql_of(dialect, table.c.day, by),
                   CustomerPeriod.customer_id == table.c.customer_id)
            .scalar_subquery(), 0)
    statement = sa.update(table).values(**values)
    if some:
        statement = statement.where(
            table.c.customer_id.in_(sa.bindparam("customer_ids", expanding=True)))
    return statement


GRAIN_OF = {by: grain for grain, by in c.CUSTOMER_GRAINS}


def new_customers(session: Session, params: Params) -> dict[date, tuple[int, int]]:
    """Per period of ``params.by``: the customers whose first sale ever falls in it and
    have a sale in the range (new customers), and their revenue in it (returns included).

    A whole month, quarter or year sums the first sales in it and the revenue kept beside
    each (:func:`refresh_first_revenue`); the days of a partial period at either end, and
    days and weeks, read the customers' daily rows (:func:`new_returning_from_daily`)."""
    grain = GRAIN_OF.get(params.by)
    run = q.whole_run(session, params.date_from, params.date_to, params.by) if grain else None
    if run is None:
        return {start: (new, cents) for start, (_, new, cents, _all)
                in new_returning_from_daily(session, params).items()}
    start, end = run
    first_period = q.period_sql(session, CustomerFirstSale.day, params.by)
    statement = (sa.select(first_period, sa.func.count(),
                           sa.func.sum(getattr(CustomerFirstSale, f"{params.by}_cents")))
                 .where(CustomerFirstSale.day >= start, CustomerFirstSale.day < end)
                 .group_by(first_period))
    found = {q.as_date(period): (int(count), int(cents or 0))
             for period, count, cents in session.execute(statement)}
    for first, last in ((params.date_from, start - ONE_DAY), (end, params.date_to)):
        if first <= last:  # a partial period at an end
            edge = replace(params, date_from=first, date_to=last)
            for period, (_, new, cents, _all) in new_returning_from_daily(session, edge).items():
                found[period] = (new, cents)
    return found


def new_returning_from_daily(session: Session, params: Params
                             ) -> dict[date, tuple[int, int, int, int]]:
    """Per period: (customers with a sale, new customers, their revenue, all revenue) from
    the customers' daily rows, for any filter (a place, a customer group)."""
    period = q.period_sql(session, CustomerDaily.day, params.by)
    first_period = q.period_sql(session, CustomerFirstSale.day, params.by)
    chosen = [] if params.customer_ids is None else [
        CustomerDaily.customer_id.in_(sorted(params.customer_ids))]
    per_customer = (sa.select(period.label("period"), CustomerDaily.customer_id,
                              sa.func.sum(CustomerDaily.orders).label("n"),
                              sa.func.sum(CustomerDaily.revenue_cents).label("cents"))
                    .where(*q.where(CustomerDaily, params), *chosen)
                    .group_by(period, CustomerDaily.customer_id).subquery())
    buyer = per_customer.c.n > 0
    is_new = sa.and_(buyer, sa.cast(per_customer.c.period, sa.String)
                     == sa.cast(first_period, sa.String))
    statement = (sa.select(per_customer.c.period, sa.func.sum(sa.case((buyer, 1), else_=0)),
                           sa.func.sum(sa.case((is_new, 1), else_=0)),
                           sa.func.sum(sa.case((is_new, per_customer.c.cents), else_=0)),
                           sa.func.sum(per_customer.c.cents))
                 .outerjoin(CustomerFirstSale,
                            CustomerFirstSale.customer_id == per_customer.c.customer_id)
                 .group_by(per_customer.c.period))
    return {q.as_date(start): (int(count or 0), int(new or 0), int(new_cents or 0),
                               int(cents or 0))
            for start, count, new, new_cents, cents in session.execute(statement) if count}

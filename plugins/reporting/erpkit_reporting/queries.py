"""Reading the rollups: sums of integer columns, by day or by a dimension, filtered.

Sums are of integers (cents, thousandths), exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting.catalogue import Params
from erpkit_reporting.periods import label, next_period, period_start, periods_between

DIMENSIONS = ("channel", "country", "region", "category")


def where(model: Any, params: Params, *, day_column: str = "day") -> list[Any]:
    """The range and the filters that apply to ``model``'s columns."""
    column = getattr(model, day_column if hasattr(model, day_column) else "month")
    conditions = [column >= params.date_from, column <= params.date_to]
    for name, values in params.filters.items():
        if name in DIMENSIONS and hasattr(model, name):
            conditions.append(getattr(model, name).in_(values))
    return conditions


def sums(session: Session, model: Any, params: Params, columns: Iterable[str],
         group: Iterable[str] = ("day",), extra: Iterable[Any] = (),
         having: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """``SELECT group..., sum(column)... WHERE range and filters GROUP BY group``."""
    group, columns = list(group), list(columns)
    return [dict(zip([*group, *columns], row, strict=True))
            for row in sum_rows(session, model, params, columns, group, extra, having)]


def sum_rows(session: Session, model: Any, params: Params, columns: Iterable[str],
             group: Iterable[str] = ("day",), extra: Iterable[Any] = (),
             having: Iterable[Any] = (), *, summed: bool = True) -> list[Any]:
    """:func:`sums` as plain rows (group values, then sums): for the reports that read
    tens of thousands of rows, where a dict a row costs more than the query. Without
    ``summed`` the rows are the table's, not added up (a group may repeat), and a date
    comes as the driver returns it (a date, or ISO text on SQLite: see :func:`as_date`):
    cheaper where the caller adds them up anyway and the table has about one row a
    group."""
    keys = [getattr(model, g) for g in group]
    if not summed:  # dates as the driver gives them: SQLite's text, unparsed per row
        keys = [sa.type_coerce(key, sa.String) if isinstance(key.type, sa.Date) else key
                for key in keys]
    values = [getattr(model, c) for c in columns] if not summed else \
        [sa.func.coalesce(sa.func.sum(getattr(model, c)), 0) for c in columns]
    statement = sa.select(*keys, *values).where(*where(model, params), *extra)
    if summed:
        statement = statement.group_by(*keys).having(*having)
    return rows_of(session, statement)


def rows_of(session: Session, statement: Any) -> list[Any]:
    """The rows of a Core ``statement``, run on the session's connection: the ORM's
    per-row handling cost as much as the query on 50,000 rollup rows."""
    session.flush()  # what session.execute's autoflush would have written first
    return list(session.connection().execute(statement).all())


def extreme(session: Session, model: Any, params: Params, column: str, fn: str) -> int | None:
    return session.scalar(sa.select(getattr(sa.func, fn)(getattr(model, column)))
                          .where(*where(model, params)))


def by_period(rows: Iterable[dict[str, Any]], by: str,
              columns: Iterable[str]) -> dict[date, dict[str, int]]:
    """Add daily rows up into periods of kind ``by``, keyed by the period's first day."""
    columns = list(columns)
    out: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(columns, 0))
    for row in rows:
        bucket = out[period_start(row["day"], by)]
        for column in columns:
            bucket[column] += int(row[column] or 0)
    if out:  # periods without sales between the first and the last show as zeros
        for start in periods_between(min(out), max(out), by):
            out[start]
    return dict(sorted(out.items()))


def period_sql(session: Session, column: Any, by: str) -> Any:
    """An SQL expression of the first day of ``column``'s period, on either backend."""
    return period_sql_of(session.get_bind().dialect.name, column, by)


def period_sql_of(dialect: str, column: Any, by: str) -> Any:
    """:func:`period_sql` for the dialect named ``dialect`` (for statements built once)."""
    if by == "day":
        return column
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc(by, column), sa.Date)
    text = sa.cast(column, sa.String)
    if by == "month":
        return sa.func.substr(text, 1, 7) + "-01"
    if by == "year":
        return sa.func.substr(text, 1, 4) + "-01-01"
    if by == "quarter":
        month = sa.cast(sa.func.substr(text, 6, 2), sa.Integer)
        # ``//``: SQLAlchemy renders ``/`` of integers as a true (float) division
        first = (month - 1) // 3 * 3 + 1
        return sa.func.printf("%s-%02d-01", sa.func.substr(text, 1, 4), first)
    weekday = (sa.cast(sa.func.strftime("%w", text), sa.Integer) + 6) % 7
    return sa.func.date(text, sa.func.printf("-%d days", weekday))


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def period_label(start: date, by: str) -> str:
    return label(start, by)


# --- choosing the coarsest rollup that answers ------------------------------------------

PLACE = ("channel", "country", "region")


def any_sales(session: Session, first: date, last: date) -> bool:
    """Whether any rollup row exists for a day in [first, last]: every product, category
    and customer row has a ``reporting_daily_sales`` row on its day (a sale or a return was
    booked there), and that table has a row per day x place only."""
    from erpkit_reporting.models import DailySales

    if first > last:
        return False
    return session.scalar(sa.select(sa.literal(1)).where(
        DailySales.day.between(first, last)).limit(1)) is not None


def whole_run(session: Session, first: date, last: date, by: str) -> tuple[date, date] | None:
    """The periods of kind ``by`` [start, end) that lie whole in ``first`` .. ``last``,
    plus a partial one at either end when its days outside the range have no sales (the
    current period up to today; a range starting on a period's first day). None: none."""
    start = period_start(first, by)
    if start < first and any_sales(session, start, first - timedelta(days=1)):
        start = next_period(start, by)
    end = next_period(period_start(last, by), by)
    if any_sales(session, last + timedelta(days=1), end - timedelta(days=1)):
        end = period_start(last, by)
    return (start, end) if start < end else None


def whole_months(session: Session, params: Params) -> tuple[date, date] | None:
    """The whole months of ``params``' range (:func:`whole_run`): what the monthly
    rollups can answer for."""
    return whole_run(session, params.date_from, params.date_to, "month")


def product_sums(session: Session, params: Params, columns: Iterable[str],
                 group: Iterable[str]) -> list[dict[str, Any]]:
    """Sums of the product rollup grouped by ``group`` (``product_id``, ``category``,
    ``month``), from the coarsest table that answers: the monthly one (no place
    dimensions) for the whole months of the range, the daily one for the days of a partial
    month at its ends or whenever a channel, country or region filter is given."""
    columns, group = list(columns), list(group)
    return [dict(zip([*group, *columns], row, strict=True))
            for row in product_sum_rows(session, params, columns, group)]


def product_sum_rows(session: Session, params: Params, columns: Iterable[str],
                     group: Iterable[str], *, summed: bool = True) -> list[Any]:
    """:func:`product_sums` as plain rows (group values, then sums); a ``month`` is a
    date. Without ``summed`` the monthly table's rows come as they are (a product that
    changed category has two rows in a month; the month may be ISO text): the caller
    adds them up."""
    from erpkit_reporting.models import DailyProductSales, MonthlyProductSales

    columns, group = list(columns), list(group)
    months = None if any(name in params.filters for name in PLACE) \
        else whole_months(session, params)
    if months is None:
        return _daily_product_sums(session, DailyProductSales, params, columns, group)
    start, end = months
    monthly = replace(params, date_from=start, date_to=end - timedelta(days=1))
    parts = [sum_rows(session, MonthlyProductSales, monthly, columns, group,
                      summed=summed)]
    for first, last in ((params.date_from, start - timedelta(days=1)),
                        (end, params.date_to)):
        if first <= last:
            edge = replace(params, date_from=first, date_to=last)
            parts.append(_daily_product_sums(session, DailyProductSales, edge, columns, group))
    if len(parts) == 1:  # whole months only: nothing to merge
        return parts[0]
    if not summed:
        return [row for rows in parts for row in rows]
    width = len(group)
    merged: dict[tuple[Any, ...], list[int]] = {}
    for rows in parts:
        for row in rows:
            into = merged.setdefault(row[:width], [0] * len(columns))
            for position, value in enumerate(row[width:]):
                into[position] += int(value or 0)
    return [(*key, *values) for key, values in merged.items()]


def _daily_product_sums(session: Session, model: Any, params: Params, columns: list[str],
                        group: list[str]) -> list[Any]:
    if "month" not in group:
        return sum_rows(session, model, params, columns, group)
    # the daily table has days: bring them to their month
    month = period_sql(session, model.day, "month").label("month")
    others = [getattr(model, g) for g in group if g != "month"]
    keys = [month if g == "month" else getattr(model, g) for g in group]
    statement = (sa.select(*keys, *[sa.func.coalesce(sa.func.sum(getattr(model, c)), 0)
                                    for c in columns])
                 .where(*where(model, params)).group_by(month, *others))
    at = group.index("month")
    return [(*row[:at], as_date(row[at]), *row[at + 1:]) for row in rows_of(session, statement)]

"""Reading the rollups: sums of integer columns, by day or by a dimension, filtered.

Sums are of integers (cents, thousandths), exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting.catalogue import Params
from erpkit_reporting.periods import label, period_start, periods_between

DIMENSIONS = ("channel", "country", "region", "category")


def where(model: Any, params: Params, *, day_column: str = "day") -> list[Any]:
    """The range and the filters that apply to ``model``'s columns."""
    column = getattr(model, day_column)
    conditions = [column >= params.date_from, column <= params.date_to]
    for name, values in params.filters.items():
        if name in DIMENSIONS and hasattr(model, name):
            conditions.append(getattr(model, name).in_(values))
    return conditions


def sums(session: Session, model: Any, params: Params, columns: Iterable[str],
         group: Iterable[str] = ("day",), extra: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """``SELECT group..., sum(column)... WHERE range and filters GROUP BY group``."""
    group = list(group)
    columns = list(columns)
    keys = [getattr(model, g) for g in group]
    statement = (sa.select(*keys,
                           *[sa.func.coalesce(sa.func.sum(getattr(model, c)), 0) for c in columns])
                 .where(*where(model, params), *extra).group_by(*keys))
    return [dict(zip([*group, *columns], row, strict=True)) for row in session.execute(statement)]


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
    if by == "day":
        return column
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc(by, column), sa.Date)
    text = sa.cast(column, sa.String)
    if by == "month":
        return sa.func.substr(text, 1, 7) + "-01"
    if by == "year":
        return sa.func.substr(text, 1, 4) + "-01-01"
    if by == "quarter":
        month = sa.cast(sa.func.substr(text, 6, 2), sa.Integer)
        first = (month - 1) / 3 * 3 + 1
        return sa.func.printf("%s-%02d-01", sa.func.substr(text, 1, 4), first)
    weekday = (sa.cast(sa.func.strftime("%w", text), sa.Integer) + 6) % 7
    return sa.func.date(text, sa.func.printf("-%d days", weekday))


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def period_label(start: date, by: str) -> str:
    return label(start, by)

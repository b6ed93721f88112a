"""Orders listed newest first, a page at a time, by an index whatever the filter.

Without a creation-time filter a listing walks the primary key backwards (``id``, newest
first). With ``created_from`` / ``created_to`` it walks ``(created_at, id)`` backwards
instead: ordered by id, SQLite scanned every newer order to reach an old ``created_to``
(the planner walked the primary key and filtered), and a sort by id of every order in
the period would cost as much. Both orders put the newest first; they differ only for
orders created in the same instant by concurrent transactions. The cursor stays an order
id either way: the page after order N starts below N's own ``(created_at, id)``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_orders.models import Order


def newest_first(session: Session, query: sa.Select[Any], *, after: int | None,
                 created_from: date | None = None, created_to: date | None = None
                 ) -> sa.Select[Any]:
    """``query`` (a select of orders) ordered newest first, limited to the orders
    created from ``created_from`` to ``created_to`` (UTC days, both included) and to
    those after the cursor ``after`` (the id of the last order of the previous page)."""
    if created_from is None and created_to is None:
        query = query.order_by(Order.id.desc())
        return query if after is None else query.where(Order.id < after)
    if created_from is not None:
        query = query.where(Order.created_at >= _day_start(created_from))
    if created_to is not None:
        query = query.where(Order.created_at < _day_start(created_to + timedelta(days=1)))
    query = query.order_by(Order.created_at.desc(), Order.id.desc())
    if after is None:
        return query
    created = session.scalar(sa.select(Order.created_at).where(Order.id == after))
    if created is None:  # no such order: the ids below it, as without the filter
        return query.where(Order.id < after)
    # Written so the index's range starts at the cursor (created_at <= ...) rather than
    # as a row value, which SQLite's planner checks row by row from the period's end.
    return query.where(Order.created_at <= created,
                       sa.or_(Order.created_at < created, Order.id < after))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)

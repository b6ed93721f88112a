"""Keep the rollups current: upsert an order's contribution in the caller's transaction.

The lifecycle hooks (:mod:`erpkit_reporting.plugin`) call these functions with the
transition's session, so a rolled-back transition leaves the rollups as they were. Orders
imported as history arrive through the orders hook ``erpkit_orders_history_imported``
(:func:`erpkit_reporting.rebuild.add_orders`); orders written by anything else without
hooks (a bulk load) are counted by :func:`erpkit_reporting.rebuild.rebuild`
(``erpkit report rebuild``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from erpkit.db import Base
from erpkit_reporting import contributions as c
from erpkit_reporting.models import CustomerDaily, CustomerFirstSale
from erpkit_reporting.money import to_cents, to_milli


def facts_of(order: Any) -> c.OrderFacts:
    """The rollup facts of an ORM :class:`~erpkit_orders.models.Order`."""
    customer = order.customer
    return c.OrderFacts(
        id=order.id, ordered_at=order.ordered_at, channel=order.channel or "",
        country=order.ship_to_country or customer.country or "",
        region=order.ship_to_region or customer.region or "",
        customer_id=order.customer_id, total_cents=to_cents(order.total),
        subtotal_cents=to_cents(order.subtotal), discount_cents=to_cents(order.discount_total),
        shipping_cents=to_cents(order.shipping_charge),
        lines=[c.LineFacts(line.product_id, line.product.category or "",
                           to_milli(line.quantity), to_cents(line.line_total))
               for line in order.lines],
        shipped_at=order.shipped_at, delivered_at=order.delivered_at,
        requested_date=order.requested_date, promised_date=order.promised_date,
    )


def _upsert(session: Session, table: sa.Table, columns: Iterable[str]) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` adding each column's increment (or keeping
    the smaller / larger value for the EXTREMES columns)."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    updates: dict[str, Any] = {}
    for column in columns:
        current, incoming = table.c[column], insert.excluded[column]
        merge = c.EXTREMES.get(column)
        if merge is None:
            updates[column] = current + incoming
            continue
        name = ("least" if merge is min else "greatest") if dialect == "postgresql" \
            else merge.__name__
        updates[column] = sa.case((incoming.is_(None), current), (current.is_(None), incoming),
                                  else_=getattr(sa.func, name)(current, incoming))
    keys = [column.name for column in table.primary_key.columns]
    return insert.on_conflict_do_update(index_elements=keys, set_=updates)


def apply(session: Session, changes: c.Changes, *, first_sales: bool = True) -> None:
    """Add ``changes`` to the rollup tables in the session's transaction, one
    ``executemany`` of atomic upserts per table (safe against concurrent writers)."""
    customers: set[int] = set()
    for table_name, rows in changes.items():
        if not rows:
            continue
        table = Base.metadata.tables[table_name]
        keys = [column.name for column in table.primary_key.columns]
        columns = sorted({column for values in rows.values() for column in values})
        params = [{**dict(zip(keys, key, strict=True)),
                   **{column: values.get(column, None if column in c.EXTREMES else 0)
                      for column in columns}}
                  for key, values in rows.items()]
        session.execute(_upsert(session, table, columns), params)
        if table_name == CustomerDaily.__tablename__:
            customers.update(key[1] for key in rows)
    if first_sales:
        refresh_first_sales(session, customers)


def refresh_first_sales(session: Session, customer_ids: Iterable[int]) -> None:
    """Set each customer's first day with a sale from their daily rows: one upsert of the
    minimum day, one delete of those left without a sale (set-based, safe for concurrent
    writers)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    dialect = session.get_bind().dialect.name
    table = Base.metadata.tables[CustomerFirstSale.__tablename__]
    firsts = (sa.select(CustomerDaily.customer_id, sa.func.min(CustomerDaily.day))
              .where(CustomerDaily.customer_id.in_(ids), CustomerDaily.orders > 0)
              .group_by(CustomerDaily.customer_id))
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    session.execute(insert.from_select(["customer_id", "day"], firsts).on_conflict_do_update(
        index_elements=["customer_id"], set_={"day": insert.excluded.day}))
    with_sale = sa.select(CustomerDaily.customer_id).where(
        CustomerDaily.customer_id == table.c.customer_id, CustomerDaily.orders > 0)
    session.execute(sa.delete(table).where(table.c.customer_id.in_(ids), ~with_sale.exists()))


def status_events(session: Session, order_id: int) -> list[tuple[str | None, Any]]:
    """The order's status events, oldest first: (status entered, when), including those of
    the transition running now."""
    from erpkit_orders.timeline import status_entries

    return list(status_entries(session, order_id))


def order_created(session: Session, order: Any) -> None:
    """Count a created order on its order day (quality: the base of the rates)."""
    changes = c.new_changes()
    c.add_quality(changes, order.ordered_at.date(), order.channel or "", "created")
    apply(session, changes)


def status_changed(session: Session, order: Any, old_status: str | None,
                   new_status: str) -> None:
    """Everything one status change does to the rollups (hook
    ``erpkit_order_status_changed``)."""
    changes = c.new_changes()
    facts = facts_of(order)
    events = status_events(session, order.id)
    now = events[-1][1] if events else order.status_changed_at
    if new_status == "confirmed" and old_status not in c.SALE_STATUSES:
        c.add_sale(changes, facts)
    if new_status == "cancelled" and old_status in c.SALE_STATUSES:
        c.add_sale(changes, facts, sign=-1)
    if new_status == "returned":
        c.add_return(changes, facts, now.date())
    if new_status in ("partially_shipped", "shipped") and not any(
            status in ("partially_shipped", "shipped") for status, _ in events[:-1]):
        c.add_shipped(changes, facts)
    if new_status == "delivered":
        c.add_delivered(changes, facts)
    if new_status in c.QUALITY_STATUSES:
        c.add_quality(changes, now.date(), facts.channel, new_status)
    last = len(events) - 1
    for step, end_index, ended_at, seconds in c.step_durations(events):
        if end_index == last:
            c.add_step(changes, facts.channel, step, ended_at, seconds)
    apply(session, changes)


def order_edited(session: Session, order: Any) -> None:
    """Count an order changed after its submission, once: on the first such change (an
    ``update`` transition of a submitted order: hook ``erpkit_order_validate``, stage
    ``update``; the timeline's ``edit`` events say whether it was changed before)."""
    from erpkit_orders.models import TimelineEvent

    if order.id is None or order.status == "draft":
        return
    earlier = list(session.scalars(sa.select(TimelineEvent.at).where(
        TimelineEvent.order_id == order.id, TimelineEvent.kind == "edit")))
    if c.first_edit_after_submission(status_events(session, order.id), earlier) is not None:
        return
    from erpkit.db import utcnow

    changes = c.new_changes()
    c.add_quality(changes, utcnow().date(), order.channel or "", c.EDITED)
    apply(session, changes)

"""Keep the rollups current: upsert an order's contribution in the caller's transaction.

The lifecycle hooks (:mod:`erpkit_reporting.plugin`) call these functions with the
transition's session, so a rolled-back transition leaves the rollups as they were. Orders
imported as history arrive through the orders hook ``erpkit_orders_history_imported``
(:func:`erpkit_reporting.rebuild.add_orders`); orders written by anything else without
hooks (a bulk load) are counted by :func:`erpkit_reporting.rebuild.rebuild`
(``erpkit report rebuild``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from erpkit.db import Base
from erpkit_reporting import contributions as c
from erpkit_reporting import customer_periods, spans
from erpkit_reporting.models import CustomerDaily, CustomerFirstSale, CustomerPeriod
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
    return _upsert_of(session.get_bind().dialect.name, table.name, tuple(columns))


@functools.cache
def _upsert_of(dialect: str, table_name: str, columns: tuple[str, ...]) -> Any:
    # Built once per table and set of columns: building it for every transaction was a
    # tenth of an order's pipeline (profile_pipeline.py); a statement is never changed
    # by running it, so every thread can share it.
    table = Base.metadata.tables[table_name]
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
    gained: dict[int, Any] = {}
    lost: set[int] = set()
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
            for key, values in rows.items():
                if values.get("orders", 0) > 0:
                    gained[key[1]] = min(gained.get(key[1], key[0]), key[0])
                elif values.get("orders", 0) < 0:
                    lost.add(key[1])
    if first_sales:
        # a new sale can only move a customer's first day earlier: one upsert keeping the
        # smaller day; a sale taken out (a cancellation) needs the day recomputed
        earlier = {customer: day for customer, day in gained.items() if customer not in lost}
        if earlier:
            _first_sale_upsert(session, earlier)
        refresh_first_sales(session, lost)
        customers = {key[2] for key in changes.get(CustomerPeriod.__tablename__, ())}
        if customers:
            customer_periods.refresh_first_revenue(session, sorted(customers))


def _first_sale_upsert(session: Session, days: dict[int, Any]) -> None:
    session.execute(_first_sale_statement(session.get_bind().dialect.name),
                    [{"customer_id": customer, "day": day}
                     for customer, day in sorted(days.items())])


@functools.cache
def _first_sale_statement(dialect: str) -> Any:
    table = Base.metadata.tables[CustomerFirstSale.__tablename__]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    smaller = getattr(sa.func, "least" if dialect == "postgresql" else "min")
    return insert.on_conflict_do_update(
        index_elements=["customer_id"], set_={"day": smaller(table.c.day, insert.excluded.day)})


# --- one write per transaction ------------------------------------------------------------

#: ``session.info`` key of the changes collected in the transaction, with the savepoint
#: each was made in (dropped when that savepoint rolls back).
_PENDING = "erpkit_reporting.pending_rollups"


def defer(session: Session, changes: c.Changes) -> None:
    """Collect ``changes`` to be written when the session's transaction commits, merged
    with the others of the transaction: one multi-row upsert per rollup table, however
    many transitions the transaction holds (submit, approve and confirm are one). A
    rolled-back transaction (or savepoint) drops what it collected. Reads in the same
    transaction do not see them; :func:`write_pending` writes them at once."""
    session.info.setdefault(_PENDING, []).append((session.get_nested_transaction(), changes))


def write_pending(session: Session) -> None:
    """Write the changes collected in this transaction now (one upsert per table)."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    merged = c.new_changes()
    for _savepoint, changes in pending:
        c.merge(merged, changes)
    apply(session, merged)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction writes at its commit
    write_pending(session)


def _inside(savepoint: Any, rolled_back: Any) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


def _after_soft_rollback(session: Session, previous_transaction: Any) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return
    pending[:] = [(savepoint, changes) for savepoint, changes in pending
                  if not _inside(savepoint, previous_transaction)]


def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction ended without commit (closed)
        session.info.pop(_PENDING, None)


sa.event.listen(Session, "before_commit", _before_commit)
sa.event.listen(Session, "after_soft_rollback", _after_soft_rollback)
sa.event.listen(Session, "after_transaction_end", _after_transaction_end)


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
    defer(session, changes)


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
        spans.sale_changed(session, changes, facts, 1)
    if new_status == "cancelled" and old_status in c.SALE_STATUSES:
        c.add_sale(changes, facts, sign=-1)
        spans.sale_changed(session, changes, facts, -1)
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
    defer(session, changes)


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
    defer(session, changes)

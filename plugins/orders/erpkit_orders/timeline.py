"""The order timeline: every status change and note, who, when and why.

Inside the door (:func:`erpkit_orders.lifecycle.perform`) the events of a transition are
collected and written together, with one multi-row statement, when its body is done:
one INSERT per transition instead of one per event (the ORM inserts rows one at a time
on SQLite, where it cannot match returned ids to rows otherwise). An event recorded
inside a savepoint that rolls back is dropped with it. Outside the door each event is
added to the session as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.transaction_cache import forget, transaction_cache
from erpkit_orders.models import Order, TimelineEvent

_BUFFER = "erpkit_orders.timeline_buffer"
_TABLE = cast(sa.Table, TimelineEvent.__table__)


def record_event(
    session: Session,
    order: Order,
    *,
    kind: str,
    message: str,
    actor: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    public: bool = False,
    source: str = "orders",
) -> TimelineEvent:
    """Append an event to ``order``'s timeline in the caller's transaction."""
    values = {"order_id": order.id, "at": utcnow(), "kind": kind, "message": message,
              "actor": actor, "from_status": from_status, "to_status": to_status,
              "public": public, "source": source}
    buffer = session.info.get(_BUFFER)
    if buffer is not None and order.id is not None:
        buffer.append((session.get_nested_transaction(), values))
        return TimelineEvent(**values)  # what was recorded; written by write_collected
    event = TimelineEvent(**values)
    session.add(event)
    return event


@contextmanager
def collected(session: Session) -> Iterator[None]:
    """Collect the events recorded in the block; :func:`write_collected` writes them.

    Events still collected when the block ends (an exception) are dropped.
    """
    session.info[_BUFFER] = []
    try:
        yield
    finally:
        session.info.pop(_BUFFER, None)


def write_collected(session: Session) -> None:
    """Write the events collected so far, in the order they were recorded."""
    buffer = session.info.get(_BUFFER)
    if buffer:
        session.execute(_TABLE.insert(), [values for _savepoint, values in buffer])
        buffer.clear()
        forget(session, _WRITTEN)


def _inside(savepoint: Any, rolled_back: Any) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


def _drop_rolled_back(session: Session, previous_transaction: Any) -> None:
    buffer = session.info.get(_BUFFER)
    if buffer and previous_transaction.nested:
        buffer[:] = [(savepoint, values) for savepoint, values in buffer
                     if not _inside(savepoint, previous_transaction)]


sa_event.listen(Session, "after_soft_rollback", _drop_rolled_back)


#: Built once: the statuses an order entered, as written (reporting reads them on every
#: status change). On the table's columns: a Core statement costs half an ORM one.
_EVENTS: sa.Table = TimelineEvent.__table__  # type: ignore[assignment]
_WRITTEN_STATUS_ENTRIES = (
    sa.select(_EVENTS.c.to_status, _EVENTS.c.at)
    .where(_EVENTS.c.order_id == sa.bindparam("order_id"), _EVENTS.c.kind == "status",
           _EVENTS.c.to_status.is_not(None))
    .order_by(_EVENTS.c.id))

#: The transaction cache of written status entries, by order id.
_WRITTEN = "erpkit_orders.written_status_entries"


def _written_status_entries(session: Session, order_id: int) -> list[tuple[str, Any]]:
    """The status entries of ``order_id`` in the database, read once per transaction.

    Only timeline events change what this reads. Inside the door they are collected and
    written at its end (:func:`write_collected` forgets the cache); an event added to the
    session outside the door is flushed and read as before. So the read neither flushes
    the order's pending changes (the reporting hook asked on every status change, and
    each time the order row was updated once more) nor runs again in the transition.
    """
    if any(isinstance(obj, TimelineEvent) for obj in session.new):
        forget(session, _WRITTEN)
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            _WRITTEN_STATUS_ENTRIES, {"order_id": order_id})]
    cache = transaction_cache(session, _WRITTEN)
    if order_id not in cache:
        with session.no_autoflush:
            cache[order_id] = [tuple(row) for row in session.execute(
                _WRITTEN_STATUS_ENTRIES, {"order_id": order_id})]
    return list(cache[order_id])


def status_entries(session: Session, order_id: int) -> list[tuple[str, Any]]:
    """The statuses ``order_id`` entered and when, oldest first, including those the
    running transition recorded and has not written yet (a hook's view of the timeline
    so far: the door writes a transition's events in one statement at its end)."""
    written = _written_status_entries(session, order_id)
    pending = [(values["to_status"], values["at"])
               for _savepoint, values in session.info.get(_BUFFER) or ()
               if values["order_id"] == order_id and values["kind"] == "status"
               and values["to_status"] is not None]
    return [(status, at) for status, at in written] + pending


def events(session: Session, order_id: int, *, public_only: bool = False) -> list[TimelineEvent]:
    query = sa.select(TimelineEvent).where(TimelineEvent.order_id == order_id)
    if public_only:
        query = query.where(TimelineEvent.public.is_(True))
    return list(session.scalars(query.order_by(TimelineEvent.id)))

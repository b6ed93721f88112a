"""Promises kept on record: made at entry and at confirmation, revised with a reason.

Each promise is a :class:`~erpkit_logistics.models.OrderPromise` row with its
explanation; the newest is ``current``. A revision that moves the date goes through the
orders module's door (:func:`erpkit_orders.lifecycle.perform`): the order's
``promised_date`` changes, and the timeline says why, in a note the customer sees.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import flushing_only, utcnow
from erpkit.jobs import enqueue
from erpkit.notifications import MAIL_JOB, mail_configured
from erpkit.promises import DeliveryPromise
from erpkit_logistics.models import OrderPromise
from erpkit_logistics.promising import Worked, work_out
from erpkit_orders import lifecycle
from erpkit_orders.models import Order
from erpkit_orders.timeline import record_event


def current_promise(session: Session, order_id: int) -> OrderPromise | None:
    return session.scalars(sa.select(OrderPromise).where(
        OrderPromise.order_id == order_id, OrderPromise.current.is_(True))
        .order_by(OrderPromise.id.desc()).limit(1)).first()


_PROMISES: sa.Table = OrderPromise.__table__  # type: ignore[assignment]
#: Built once, on the table (a Core UPDATE: half the ORM's cost): the order's current
#: promise stops being current.
_NOT_CURRENT = (sa.update(_PROMISES)
                .where(_PROMISES.c.order_id == sa.bindparam("the_order"),
                       _PROMISES.c.current.is_(True))
                .values(current=False))


def record(session: Session, order: Any, worked: Worked, stage: str,
           reason: str = "", *, first: bool = False) -> OrderPromise:
    """Keep ``worked`` as the order's current promise (``first``: the order has none)."""
    if not first:
        with flushing_only(session, OrderPromise):  # an earlier promise may be pending
            session.execute(_NOT_CURRENT, {"the_order": order.id})
    row = OrderPromise(order_id=order.id, stage=stage,
                       promised_date=worked.promise.promised_date,
                       hand_over_by=worked.hand_over_by, current=True,
                       steps=[step.as_dict() for step in worked.promise.steps], reason=reason)
    session.add(row)
    return row


def record_at_entry(session: Session, order: Any,
                    now: datetime | None = None) -> OrderPromise | None:
    """The promise quoted when the order is entered (no capacity booked); none for an
    order imported as history."""
    if getattr(order, "imported_as_history", False):
        return None
    session.flush()  # the new order's lines need their ids
    return record(session, order, work_out(session, order, now=now or utcnow()), "entry",
                  first=True)


def promise_at_confirmation(session: Session, order: Any,
                            now: datetime | None = None) -> DeliveryPromise:
    """The hook's answer: capacity booked, the promise recorded (the orders module
    writes the date and its timeline note)."""
    worked = work_out(session, order, now=now or utcnow(), stage="confirmation", book=True)
    record(session, order, worked, "confirmation")
    return worked.promise


#: A revision's reason: a sentence, or one worked out from the old and the new date.
Reason = str | Callable[[date | None, date], str]


class _Unchanged(Exception):
    """A review that moves nothing: the transition rolls back, nothing is recorded."""


def revise(session: Session, order_id: int, reason: Reason, *, actor: Any = None,
           now: datetime | None = None, only_if_moved: bool = False,
           keep_bookings: bool = False) -> Order | None:
    """Work the promise of a confirmed order out again (say, a supplier is late);
    when the date moves, the order gets it and the customer is told why: a timeline
    note they see, and an e-mail when they have an address and mail is on.

    ``only_if_moved`` (the automatic reviews): a date that stays leaves everything as
    it was and returns ``None``; with ``keep_bookings`` the capacity booked again is
    kept all the same (a work centre's capacity changed)."""

    def body(transition: Any, order: Order) -> Order:
        worked = work_out(transition.session, order, now=now or utcnow(), stage="revised",
                          book=True)
        before = order.promised_date
        after = worked.promise.promised_date
        why = reason(before, after) if callable(reason) else reason
        if before == after and only_if_moved and not keep_bookings:
            raise _Unchanged
        if before != after or not only_if_moved:
            record(transition.session, order, worked, "revised", why)
        if before != after:
            order.promised_date = after
            was = before.isoformat() if before else "none"
            message = f"delivery date moved from {was} to {after.isoformat()}: {why}"
            record_event(transition.session, order, kind="note", actor=transition.actor_name,
                         message=message, public=True, source="logistics")
            tell_customer(transition.session, order, message)
        return order

    try:
        return lifecycle.perform(session, order_id, "promise", body, actor=actor,
                                 reason=reason if isinstance(reason, str) else None)
    except _Unchanged:
        return None


def tell_customer(session: Session, order: Order, message: str) -> None:
    """E-mail the customer (the core's mail job, sent after the commit) when mail is on
    and they have an address."""
    email = order.customer.email if order.customer is not None else None
    if email and mail_configured():
        enqueue(session, MAIL_JOB, to=[email],
                subject=f"Order {order.number}: new delivery date",
                body=f"Your order {order.number}: {message}.")

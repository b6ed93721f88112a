"""A promise about to be missed, as one of the core's step time limits.

The step ``logistics.promise`` runs from confirmation until the goods reach the carrier.
Its due time is the promise's ``hand_over_by`` (the last possible day's cut-off: handed
over later, the transit cannot arrive by the promised date), less the warning time
``logistics.promise_warning``. So the alert goes out while there is still time to act,
before the promise is broken. One indexed query on ``(current, hand_over_by)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.plugins import registry_of
from erpkit.steps import LateBound, LateStep, StepDeclaration
from erpkit_logistics.models import OrderPromise
from erpkit_logistics.time_limits import ESCALATION_ROLE
from erpkit_orders.models import Order
from erpkit_orders.timeline import record_event

WARNING = "logistics.promise_warning"
STEP = "logistics.promise"
#: Orders whose goods have not reached the carrier yet.
WAITING = ("confirmed",)


def late_promises(session: Session, now: datetime, after: LateBound | None = None,
                  limit: int | None = None) -> list[LateStep]:
    """Orders whose promise is about to be missed, the latest first (then by order id);
    with ``after`` and ``limit``, at most ``limit`` after ``after`` (a page)."""
    registry = registry_of(session)
    warning: timedelta = registry.parameters.get(session, WARNING)
    role = str(registry.parameters.get(session, ESCALATION_ROLE)) or None
    query = (
        sa.select(OrderPromise.id, OrderPromise.order_id, OrderPromise.hand_over_by,
                  OrderPromise.promised_date, OrderPromise.created_at, Order.number)
        .join(Order, Order.id == OrderPromise.order_id)
        .where(OrderPromise.current.is_(True), OrderPromise.hand_over_by.is_not(None),
               OrderPromise.hand_over_by < now + warning, Order.status.in_(WAITING),
               Order.imported_as_history.is_(False))
        .order_by(OrderPromise.hand_over_by, OrderPromise.order_id))
    if after is not None:  # due = hand-over - warning
        query = query.where(after.shifted(warning).after(OrderPromise.hand_over_by,
                                                         OrderPromise.order_id))
    rows = session.execute(query if limit is None else query.limit(limit))
    late = [(promise_id, order_id, hand_over_by, promised, created, number)
            for promise_id, order_id, hand_over_by, promised, created, number in rows
            if hand_over_by is not None]
    return [LateStep(
        subject_id=order_id, round=promise_id, step=STEP, kind="order", reference=number,
        started_at=created, due_at=hand_over_by - warning, action="escalate",
        escalate_to=role,
        about=f"Order {number} must reach the carrier by {hand_over_by:%Y-%m-%d %H:%M} UTC "
              f"to arrive by its promised {promised.isoformat()}",
        held_by=("role warehouse",), notify=("role:warehouse",),
        data={"order_id": order_id, "promised_date": promised.isoformat(),
              "hand_over_by": hand_over_by.isoformat()})
        for promise_id, order_id, hand_over_by, promised, created, number in late]


def lock_if_still_waiting(session: Session, late: LateStep, now: datetime) -> Any:
    return session.scalars(
        sa.select(Order).where(Order.id == late.subject_id, Order.status.in_(WAITING))
        .with_for_update().execution_options(populate_existing=True)).one_or_none()


def note(session: Session, order: Order, message: str) -> None:
    record_event(session, order, kind="note", actor="sla sweep", message=message,
                 source="logistics")


def promise_step() -> StepDeclaration:
    return StepDeclaration(name=STEP, list_late=late_promises, list_late_page=late_promises,
                           lock=lock_if_still_waiting,
                           limit_parameter=WARNING, note=note,
                           description="Getting a confirmed order's goods to the carrier in "
                                       "time to keep its promised date.")

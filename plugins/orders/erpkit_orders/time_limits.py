"""The department steps as the core's step time limits: what is late, and escalation.

Each department step (:mod:`erpkit_orders.departments`) is declared to the core
(``erpkit_steps``): an order is late when it is still in one of the step's statuses
longer than the step's limit (``orders.sla.<step>``) after it last entered the step. A
breach alerts the department's role and escalates to ``orders.sla.escalation_role``;
the core's sweep applies it once and writes it on the order's timeline.

The listing is one query per step, driven by the orders in the step's statuses (index
``(status, id)``) joined to their status entries (index ``(order_id, kind, to_status,
at)``), with the limit applied in SQL: only late orders come back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import UTCDateTime
from erpkit.plugins import registry_of
from erpkit.steps import LateBound, LateStep, StepDeclaration
from erpkit_orders import lifecycle
from erpkit_orders.departments import DEPARTMENT_STEPS, DepartmentStep
from erpkit_orders.models import Order, TimelineEvent
from erpkit_orders.timeline import record_event

ESCALATION_ROLE = "orders.sla.escalation_role"


def late_orders(session: Session, department: DepartmentStep, now: datetime,
                after: LateBound | None = None,
                page_size: int | None = None) -> list[LateStep]:
    """The orders late for ``department`` at ``now``, the latest first (then by id); with
    ``after`` and ``page_size``, at most that many of them after ``after`` (a page)."""
    registry = registry_of(session)
    limit = department.time_limit(session)
    role = str(registry.parameters.get(session, ESCALATION_ROLE))
    started = sa.func.max(TimelineEvent.at, type_=UTCDateTime())
    query = (
        sa.select(Order.id, Order.number, Order.status, started.label("started"),
                  sa.func.count(TimelineEvent.id).label("rounds"))
        .join(TimelineEvent, sa.and_(TimelineEvent.order_id == Order.id,
                                     TimelineEvent.kind == "status",
                                     TimelineEvent.to_status == department.starts_at))
        # History happened elsewhere: its steps have no time limit here.
        .where(Order.status.in_(department.open_statuses),
               Order.imported_as_history.is_(False))
        .group_by(Order.id, Order.number, Order.status)
        .having(started < now - limit)
        .order_by(started, Order.id))
    if after is not None:  # due = entered + limit
        query = query.having(after.shifted(-limit).after(started, Order.id))
    rows = session.execute(query if page_size is None else query.limit(page_size))
    label = department.name.replace("_", " ")
    late: list[LateStep] = []
    for order_id, number, status, entered, rounds in rows:
        waiting_for_approval = status == lifecycle.Status.PENDING_APPROVAL
        late.append(LateStep(
            subject_id=order_id, step=department.name, kind="order", reference=number,
            round=int(rounds), started_at=entered, due_at=entered + limit, action="escalate",
            escalate_to=role, about=f"Order {number} ({label})",
            # While an approval holds the order, the approvers hold it: the approvals
            # module alerts them (its erpkit_step_breached).
            held_by=("approvers",) if waiting_for_approval else (f"role {department.holder_role}",),
            notify=() if waiting_for_approval else (f"role:{department.holder_role}",),
            data={"order_id": order_id}))
    return late


def lock_if_still_late(department: DepartmentStep) -> Any:
    def lock(session: Session, late: LateStep, now: datetime) -> Order | None:
        order = lifecycle.lock(session, late.subject_id)
        return order if order.status in department.open_statuses else None

    return lock


def note_on_timeline(session: Session, order: Order, message: str) -> None:
    record_event(session, order, kind="note", actor="sla sweep", message=message,
                 source="orders")


def _listing(department: DepartmentStep) -> Callable[[Session, datetime], list[LateStep]]:
    def list_late(session: Session, now: datetime) -> list[LateStep]:
        return late_orders(session, department, now)

    return list_late


def _paging(department: DepartmentStep) -> Callable[[Session, datetime, LateBound | None, int],
                                                    list[LateStep]]:
    def list_late_page(session: Session, now: datetime, after: LateBound | None,
                       limit: int) -> list[LateStep]:
        return late_orders(session, department, now, after, limit)

    return list_late_page


def step_declarations() -> list[StepDeclaration]:
    """The department steps, for ``erpkit_steps``."""
    return [StepDeclaration(
        name=f"orders.{department.name}",
        list_late=_listing(department),
        list_late_page=_paging(department),
        lock=lock_if_still_late(department),
        limit_parameter=department.parameter,
        note=note_on_timeline,
        description=department.description,
    ) for department in DEPARTMENT_STEPS]

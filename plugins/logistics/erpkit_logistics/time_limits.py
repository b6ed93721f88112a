"""Logistics' steps as the core's step time limits: pick, pack, hand-over, delivery.

Each step is declared to the core (``erpkit_steps``). A shipment is late when it has
been in the step longer than the step's limit (``logistics.limit.<step>``) since
``step_started_at`` (set by :func:`erpkit_logistics.tracking.derive`). The core's sweep
handles each breach once, whatever the number of workers: it alerts whoever holds the
shipment (the picker, packer or driver; else the step's role), escalates to the role in
``logistics.escalation_role`` and writes the order's timeline.

The listing is one query per step on the index ``(status, step_started_at)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.plugins import registry_of
from erpkit.steps import LateBound, LateStep, StepDeclaration
from erpkit_logistics.models import LogisticsShipment
from erpkit_orders.models import Order
from erpkit_orders.timeline import record_event

ESCALATION_ROLE = "logistics.escalation_role"


@dataclass(frozen=True)
class ShipmentStep:
    name: str
    statuses: tuple[str, ...]
    picked: bool | None  # picking splits into pick (not picked yet) and pack (picked)
    role: str  # who holds a shipment in this step when no one person does
    description: str

    @property
    def parameter(self) -> str:
        return f"logistics.limit.{self.name}"

    def condition(self) -> Any:
        where = LogisticsShipment.status.in_(self.statuses)
        if self.picked is True:
            return sa.and_(where, LogisticsShipment.picked_at.is_not(None))
        if self.picked is False:
            return sa.and_(where, LogisticsShipment.picked_at.is_(None))
        return where


STEPS = (
    ShipmentStep("pick", ("picking",), False, "warehouse", "Picking a shipment's items."),
    ShipmentStep("pack", ("picking",), True, "warehouse", "Packing a picked shipment."),
    ShipmentStep("hand_over", ("packed",), None, "warehouse",
                 "Handing a packed shipment to the carrier."),
    ShipmentStep("delivery", ("handed_to_carrier", "in_transit", "out_for_delivery",
                              "exception"), None, "logistics",
                 "Delivering a shipment once the carrier has it."),
)


def late_shipments(session: Session, step: ShipmentStep, now: datetime,
                   after: LateBound | None = None,
                   page_size: int | None = None) -> list[LateStep]:
    """The shipments late for ``step`` at ``now``, the latest first (then by id); with
    ``after`` and ``page_size``, at most that many after ``after`` (a page)."""
    registry = registry_of(session)
    limit: timedelta = registry.parameters.get(session, step.parameter)
    role = str(registry.parameters.get(session, ESCALATION_ROLE)) or None
    query = (
        sa.select(LogisticsShipment.id, LogisticsShipment.step_started_at,
                  LogisticsShipment.holder, Order.number)
        .join(Order, Order.id == LogisticsShipment.order_id)
        .where(step.condition(), LogisticsShipment.step_started_at < now - limit,
               Order.imported_as_history.is_(False))
        .order_by(LogisticsShipment.step_started_at, LogisticsShipment.id))
    if after is not None:  # due = started + limit
        query = query.where(after.shifted(-limit).after(LogisticsShipment.step_started_at,
                                                        LogisticsShipment.id))
    rows = session.execute(query if page_size is None else query.limit(page_size))
    label = step.name.replace("_", "-")
    return [LateStep(
        subject_id=shipment_id, step=f"logistics.{step.name}", kind="shipment",
        reference=f"S-{shipment_id}", started_at=started, due_at=started + limit,
        action="escalate", escalate_to=role,
        about=f"Shipment S-{shipment_id} of order {number} ({label})",
        held_by=(holder,) if holder else (f"role {step.role}",),
        notify=(holder,) if holder else (f"role:{step.role}",),
        data={"shipment_id": shipment_id})
        for shipment_id, started, holder, number in rows]


def lock_if_still_late(step: ShipmentStep) -> Any:
    def lock(session: Session, late: LateStep, now: datetime) -> LogisticsShipment | None:
        shipment = session.scalars(
            sa.select(LogisticsShipment).where(LogisticsShipment.id == late.subject_id,
                                               step.condition())
            .with_for_update(of=LogisticsShipment)
            .execution_options(populate_existing=True)).one_or_none()
        return shipment

    return lock


def note_on_timeline(session: Session, shipment: LogisticsShipment, message: str) -> None:
    order = session.get(Order, shipment.order_id)
    if order is not None:
        record_event(session, order, kind="note", actor="sla sweep", message=message,
                     source="logistics")


def _lister(step: ShipmentStep) -> Callable[[Session, datetime], list[LateStep]]:
    return lambda session, now: late_shipments(session, step, now)


def _pager(step: ShipmentStep) -> Callable[[Session, datetime, LateBound | None, int],
                                           list[LateStep]]:
    return lambda session, now, after, limit: late_shipments(session, step, now, after, limit)


def step_declarations() -> list[StepDeclaration]:
    """The shipment steps, for ``erpkit_steps``."""
    return [StepDeclaration(
        name=f"logistics.{step.name}",
        list_late=_lister(step),
        list_late_page=_pager(step),
        lock=lock_if_still_late(step),
        limit_parameter=step.parameter,
        note=note_on_timeline,
        description=step.description,
    ) for step in STEPS]

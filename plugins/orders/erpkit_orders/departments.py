"""Department steps: the stretches of every order's life that one department owns, each
with a time limit.

    submitted_to_confirmed   sales (and approvers)   submitted -> confirmed
    confirmed_to_shipped     warehouse               confirmed -> (last) shipment
    shipped_to_delivered     logistics               shipped -> delivered

The limits are parameters of this module (``orders.sla.<step>``), which owns the
statuses they measure, so they hold with the orders module alone: the work queues show
the time left before them. What happens when one runs out (alerts, escalation) is up to
other modules; the approvals module's sweep acts on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import Parameter
from erpkit.db import UTCDateTime
from erpkit.durations import Duration
from erpkit.plugins import Registry, registry_of
from erpkit_orders.models import TimelineEvent


@dataclass(frozen=True)
class DepartmentStep:
    """A stretch of every order's life with a time limit (a parameter)."""

    name: str
    starts_at: str  # the status whose entry starts the clock
    open_statuses: tuple[str, ...]  # while the order is in one of these, the step runs
    holder_role: str  # who holds the order meanwhile (unless an approval step does)
    default_limit: timedelta
    description: str

    @property
    def parameter(self) -> str:
        """The parameter that holds this step's time limit."""
        return f"orders.sla.{self.name}"

    def declaration(self) -> Parameter:
        """The parameter of this step's time limit, for ``erpkit_parameters``."""
        return Parameter(name=self.parameter, type=Duration(), default=self.default_limit,
                         description=self.description)

    def time_limit(self, session: Session, registry: Registry | None = None) -> timedelta:
        """The step's time limit now (parameter ``orders.sla.<name>``)."""
        registry = registry or registry_of(session)
        limit: timedelta = registry.parameters.get(session, self.parameter)
        return limit

    def started_at(self, session: Session, order_ids: Iterable[int]) -> dict[int, datetime]:
        """When each order last entered ``starts_at``: its step's clock, by order id.

        One query over the timeline of the given orders only (its ``(order_id, id)``
        index), so callers pass a bounded list.
        """
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        rows = session.execute(
            sa.select(TimelineEvent.order_id,
                      sa.func.max(TimelineEvent.at, type_=UTCDateTime()))
            .where(TimelineEvent.order_id.in_(ids), TimelineEvent.kind == "status",
                   TimelineEvent.to_status == self.starts_at)
            .group_by(TimelineEvent.order_id))
        return {order_id: started for order_id, started in rows}


DEPARTMENT_STEPS = (
    DepartmentStep("submitted_to_confirmed", "submitted",
                   ("submitted", "pending_approval", "approved"), "sales",
                   timedelta(hours=4),
                   "Time from submission to confirmation, approvals included."),
    DepartmentStep("confirmed_to_shipped", "confirmed", ("confirmed", "partially_shipped"),
                   "warehouse", timedelta(hours=48),
                   "Time from confirmation to the (last) shipment."),
    DepartmentStep("shipped_to_delivered", "shipped", ("shipped",), "logistics",
                   timedelta(hours=120), "Time from shipment to delivery."),
)
#: Each department step, by name.
STEPS = {step.name: step for step in DEPARTMENT_STEPS}

"""Time limits: what is late, and the sweep that acts on it once.

Two kinds of steps have limits:

* **approval steps**, each with its own limit (from the rule, else the parameter
  ``approvals.step_time_limit``) and breach action: remind, escalate (to another role,
  whose members may then act), approve or reject;
* **department steps** of every order (:mod:`erpkit_orders.departments`), with limits
  that are the orders module's parameters: submitted -> confirmed
  (``orders.sla.submitted_to_confirmed``), confirmed -> shipped, shipped -> delivered.
  A breach alerts whoever holds the order and escalates to the role in
  ``approvals.sla.escalation_role``.

:func:`sweep` is meant for cron (``erpkit sla sweep``), and is safe to run twice at once
and again and again. Each breach is handled in a transaction of its own that starts by
inserting an :class:`~erpkit_approvals.models.Breach` row; its unique constraint is the
claim. A second sweep's insert fails (on PostgreSQL it waits for the first to commit, on
SQLite the first holds the write lock), so it leaves that breach alone. Because the claim
commits together with the action, a breach whose handling failed is not marked handled,
and the next sweep tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.durations import format_duration
from erpkit.plugins import current_registry
from erpkit.transitions import Transition, atomic
from erpkit_approvals.decisions import complete_step, reject_step
from erpkit_approvals.evaluation import OPEN
from erpkit_approvals.models import ApprovalRequest, Breach, Decision, Step
from erpkit_approvals.notify import describe_holders, holders, notify, users_in_role
from erpkit_orders import lifecycle
from erpkit_orders.departments import DEPARTMENT_STEPS
from erpkit_orders.models import Order, TimelineEvent
from erpkit_orders.timeline import record_event

log = logging.getLogger(__name__)


@dataclass
class Late:
    """Something overdue: which step of which order, by how much, who holds it."""

    kind: str  # approval_step | order
    subject_id: int
    step: str
    order_id: int
    order_number: str
    started_at: datetime
    due_at: datetime
    overdue_by: timedelta
    held_by: list[str]
    action: str  # remind | escalate | approve | reject
    escalate_to: str | None = None
    level: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject_id": self.subject_id, "step": self.step,
                "order_id": self.order_id, "order_number": self.order_number,
                "started_at": self.started_at.isoformat(), "due_at": self.due_at.isoformat(),
                "overdue_by": format_duration(self.overdue_by),
                "overdue_seconds": int(self.overdue_by.total_seconds()),
                "held_by": self.held_by, "action": self.action,
                "escalate_to": self.escalate_to}


def _parameter(session: Session, name: str) -> Any:
    return current_registry().parameters.get(session, name)


def late_approval_steps(session: Session, now: datetime) -> list[Late]:
    rows = session.execute(
        sa.select(Step, Order.number, Order.id)
        .join(ApprovalRequest, Step.request_id == ApprovalRequest.id)
        .join(Order, ApprovalRequest.order_id == Order.id)
        .where(Step.status == "active", ApprovalRequest.status == OPEN, Step.due_at < now)
        .order_by(Step.due_at))
    late: list[Late] = []
    for step, number, order_id in rows:
        due: datetime = step.due_at  # type: ignore[assignment]  # the query wants one
        late.append(Late("approval_step", step.id, step.name, order_id, number,
                         step.started_at or due, due, now - due, describe_holders(step),
                         step.breach_action, escalate_to=step.escalate_to
                         if step.breach_action == "escalate" else None))
    return late


def late_department_steps(session: Session, now: datetime) -> list[Late]:
    late: list[Late] = []
    escalation_role = _parameter(session, "approvals.sla.escalation_role")
    for department in DEPARTMENT_STEPS:
        limit = department.time_limit(session)
        entered = (
            sa.select(TimelineEvent.order_id, sa.func.max(TimelineEvent.at).label("started"),
                      sa.func.count(TimelineEvent.id).label("rounds"))
            .where(TimelineEvent.kind == "status",
                   TimelineEvent.to_status == department.starts_at)
            .group_by(TimelineEvent.order_id).subquery())
        rows = session.execute(
            sa.select(Order.id, Order.number, Order.status, entered.c.started, entered.c.rounds)
            .join(entered, entered.c.order_id == Order.id)
            # History happened elsewhere: its steps have no time limit here.
            .where(Order.status.in_(department.open_statuses),
                   Order.imported_as_history.is_(False))
            .order_by(entered.c.started))
        for order_id, number, status, started, rounds in rows:
            started = _aware(started)
            due = started + limit
            if due >= now:
                continue
            held = (_approval_holders(session, order_id) if status == "pending_approval"
                    else [f"role {department.holder_role}"])
            late.append(Late("order", order_id, department.name, order_id, number, started,
                             due, now - due, held, "escalate", escalate_to=escalation_role,
                             level=int(rounds)))
    return late


def _approval_holders(session: Session, order_id: int) -> list[str]:
    """Who holds an order waiting for approval: the people its current step asks."""
    step = session.scalar(
        sa.select(Step).join(ApprovalRequest, Step.request_id == ApprovalRequest.id)
        .where(ApprovalRequest.order_id == order_id, ApprovalRequest.status == OPEN,
               Step.status == "active"))
    return describe_holders(step) if step is not None else ["approvers"]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    # max() over a UTCDateTime column comes back untyped (naive on SQLite).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def overdue(session: Session, now: datetime | None = None, *,
            unhandled_only: bool = False) -> list[Late]:
    """Everything late now, the latest first: approval steps and department steps.

    ``unhandled_only`` leaves out breaches a sweep has handled already (still late, but
    nothing more to do about them).
    """
    now = now or utcnow()
    found = late_approval_steps(session, now) + late_department_steps(session, now)
    if unhandled_only and found:
        handled = {tuple(row) for row in session.execute(
            sa.select(Breach.subject_kind, Breach.subject_id, Breach.step, Breach.level)
            .where(Breach.order_id.in_({late.order_id for late in found})))}
        found = [late for late in found
                 if (late.kind, late.subject_id, late.step, late.level) not in handled]
    return sorted(found, key=lambda item: item.overdue_by, reverse=True)


# --- the sweep -----------------------------------------------------------------------


@dataclass
class SweepReport:
    handled: list[Late] = field(default_factory=list)
    taken_by_another: list[Late] = field(default_factory=list)
    no_longer_late: list[Late] = field(default_factory=list)
    failed: list[tuple[Late, str]] = field(default_factory=list)


class _NoLongerLate(Exception):
    """Someone acted between listing and claiming: nothing to do, roll back the claim."""


def sweep(session: Session, now: datetime | None = None) -> SweepReport:
    """Find what is late and apply each breach's action once; see the module docstring."""
    now = now or utcnow()
    found = overdue(session, now, unhandled_only=True)
    session.rollback()  # end the listing's transaction: each claim takes one of its own
    report = SweepReport()
    for late in found:
        try:
            handle(session, late, now)
        except sa.exc.IntegrityError:
            report.taken_by_another.append(late)
        except _NoLongerLate:
            report.no_longer_late.append(late)
        except Exception as exc:  # one broken breach must not stop the others
            log.exception("handling the breach of %s %s failed", late.kind, late.subject_id)
            report.failed.append((late, f"{type(exc).__name__}: {exc}"))
        else:
            report.handled.append(late)
    return report


def handle(session: Session, late: Late, now: datetime) -> None:
    """Claim the breach and apply its action, in one transaction."""
    with atomic(session):
        claim(session, late)
        order = lifecycle.lock(session, late.order_id)
        transition = Transition(session=session, name="sla", from_status=order.status,
                                to_status=None, actor="sla sweep")
        subject: Any
        if late.kind == "approval_step":
            action, subject = _breach_approval_step(transition, late, order, now)
        else:
            action, subject = _breach_department_step(transition, late, order, now)
        current_registry().call("erpkit_step_breached", subject=subject, step=late.step,
                                overdue_by=late.overdue_by, action=action, session=session)
        lifecycle.flush_notes(transition, order)


def claim(session: Session, late: Late) -> Breach:
    """Insert the breach's unique row; :class:`IntegrityError` when another sweep has it."""
    breach = Breach(subject_kind=late.kind, subject_id=late.subject_id, step=late.step,
                    level=late.level, order_id=late.order_id, action=late.action,
                    overdue_seconds=int(late.overdue_by.total_seconds()))
    session.add(breach)
    session.flush()
    return breach


def _timeline(transition: Transition, order: Order, message: str) -> None:
    record_event(transition.session, order, kind="note", actor="sla sweep", message=message,
                 source="approvals")


def _breach_approval_step(transition: Transition, late: Late, order: Order,
                          now: datetime) -> tuple[str, Step]:
    session = transition.session
    step = session.scalars(sa.select(Step).where(Step.id == late.subject_id)
                           .execution_options(populate_existing=True)).one()
    request = step.request
    if step.status != "active" or request.status != OPEN or step.due_at is None \
            or step.due_at >= now:
        raise _NoLongerLate
    late_by = format_duration(now - step.due_at)
    action = step.breach_action
    if action == "escalate" and step.escalate_to:
        step.escalated_to = step.escalate_to
        _timeline(transition, order, f"'{step.name}' is {late_by} late: escalated to role "
                                     f"{step.escalate_to}")
        notify(session, users_in_role(session, step.escalate_to), kind="escalation",
               message=f"Escalated to you: order {order.number} waits for approval "
                       f"('{step.name}', {late_by} late): {request.summary}",
               order_id=order.id, request_id=request.id)
    elif action == "approve":
        step.decisions.append(Decision(login=None, decision="approve", automatic=True,
                                       comment=f"time limit passed ({late_by} late)"))
        _timeline(transition, order, f"'{step.name}' is {late_by} late: approved "
                                     "automatically, as its rule says")
        complete_step(transition, request, step, order)
    elif action == "reject":
        step.decisions.append(Decision(login=None, decision="reject", automatic=True,
                                       comment=f"time limit passed ({late_by} late)"))
        transition.reason = f"nobody decided '{step.name}' in time ({late_by} late)"
        reject_step(transition, request, step, order, by=None)
    else:
        action = "remind"
        _timeline(transition, order, f"'{step.name}' is {late_by} late: approvers reminded")
        notify(session, holders(session, step), kind="reminder",
               message=f"Reminder: order {order.number} waits for your approval "
                       f"('{step.name}', {late_by} late): {request.summary}",
               order_id=order.id, request_id=request.id)
    return action, step


def _breach_department_step(transition: Transition, late: Late, order: Order,
                            now: datetime) -> tuple[str, Order]:
    session = transition.session
    department = next(d for d in DEPARTMENT_STEPS if d.name == late.step)
    if order.status not in department.open_statuses:
        raise _NoLongerLate
    role = str(_parameter(session, "approvals.sla.escalation_role"))
    late_by = format_duration(late.overdue_by)
    label = department.name.replace("_", " ")
    request = session.scalar(sa.select(ApprovalRequest).where(
        ApprovalRequest.order_id == order.id, ApprovalRequest.status == OPEN))
    step = request.current_step if request is not None else None
    if step is not None:
        held = holders(session, step)
        if step.escalated_to is None:
            step.escalated_to = role  # the escalation role may now unblock the approval
    else:
        held = users_in_role(session, department.holder_role)
    message = f"Order {order.number} is {late_by} late for {label}"
    _timeline(transition, order, f"{label} is {late_by} late: alerted "
                                 f"{', '.join(u.login for u in held) or 'nobody'}; "
                                 f"escalated to role {role}")
    notify(session, held, kind="alert", message=message, order_id=order.id,
           request_id=request.id if request is not None else None)
    notify(session, users_in_role(session, role), kind="escalation",
           message=f"Escalated to you: {message}", order_id=order.id,
           request_id=request.id if request is not None else None)
    return "escalate", order


"""Steps within a status: the named steps (picked, quality-checked, packed) an order
passes while it stays in a status, each done by a role within a time limit.

They are rules with ``within`` (versioned, audited, dry-run like any rule): when an order
enters the status and the rule's conditions match, its steps are copied to the order
(:class:`~erpkit_approvals.models.OrderStep`) from the version in force, so an edit never
changes the steps of an order already there. A move out of the status (except a
cancellation) is refused, naming the steps not done, until every one is done. The role's
people see them in their work queue; the core's sweep acts on late ones (remind or
escalate).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import TransitionRefused
from erpkit.db import utcnow
from erpkit.notifications import Recipient
from erpkit.steps import LateBound, LateStep, StepDeclaration
from erpkit.transitions import Transition
from erpkit.work import WorkItem, WorkKey, console_url
from erpkit_approvals.conditions import evaluate
from erpkit_approvals.errors import NotAllowed, NotFound
from erpkit_approvals.evaluation import declared_facts, order_facts, step_time_limit
from erpkit_approvals.models import OrderStep
from erpkit_approvals.rules import active_versions
from erpkit_orders import lifecycle
from erpkit_orders.models import Order
from erpkit_orders.timeline import record_event

DECLARATION = "approvals.status_step"
OPEN, DONE, CLOSED = "open", "done", "closed"


def enter_status(transition: Transition, order: Any, status: str) -> list[OrderStep]:
    """Copy the steps of every matching rule ``within`` ``status`` to ``order``."""
    session = transition.session
    versions = active_versions(session, f"within:{status}")
    if not versions:
        return []
    facts = order_facts(session, order, transition.registry)
    declared = declared_facts(transition.registry)
    now = utcnow()
    made: list[OrderStep] = []
    for rule, version in versions:
        if not evaluate(version.definition, facts, declared)[0]:
            continue
        for data in version.definition["steps"]:
            limit = step_time_limit(session, data, transition.registry)
            made.append(OrderStep(
                order_id=order.id, status=status, rule_id=rule.id,
                rule_version_id=version.id, rule_version=version.version,
                position=len(made) + 1, name=data["name"], role=data["role"],
                time_limit_seconds=int(limit.total_seconds()),
                breach_action=data.get("breach_action") or "remind",
                escalate_to=data.get("escalate_to"), state=OPEN, started_at=now,
                due_at=now + limit))
    session.add_all(made)
    if made:
        transition.note(f"{status}: steps to do: {', '.join(s.name for s in made)}")
    return made


def open_steps(session: Session, order_id: int, status: str | None = None) -> list[OrderStep]:
    query = sa.select(OrderStep).where(OrderStep.order_id == order_id,
                                       OrderStep.state == OPEN)
    if status is not None:
        query = query.where(OrderStep.status == status)
    return list(session.scalars(query.order_by(OrderStep.position)))


def refuse_leaving_with_steps_open(transition: Transition, order: Any, gate: str) -> None:
    """A move out of a status waits until its steps are done (a cancellation does not).

    Looked up only while a rule adds steps within the order's status.
    """
    if gate == "cancel" or not active_versions(transition.session, f"within:{order.status}"):
        return
    missing = open_steps(transition.session, order.id, order.status)
    if missing:
        raise TransitionRefused(
            f"order {order.number} cannot leave {order.status} yet: steps not done: "
            f"{', '.join(s.name for s in missing)}", field="status", code="steps_pending")


def close_left_behind(session: Session, order: Any, old_status: str) -> None:
    """Steps of a status the order left another way (cancelled) are closed."""
    for step in open_steps(session, order.id, old_status):
        step.state = CLOSED


def may_do(user: Any, step: OrderStep) -> bool:
    roles = {role.name for role in getattr(user, "roles", ())}
    return step.role in roles or "admin" in roles or (
        step.escalate_to is not None and step.escalate_to in roles)


def mark_done(session: Session, step_id: int, *, actor: Any) -> OrderStep:
    """Record that ``actor`` did the step, through the order's door (one transaction)."""
    order_id = session.scalar(sa.select(OrderStep.order_id).where(OrderStep.id == step_id))
    if order_id is None:
        raise NotFound(f"no order step {step_id}", field="step")

    def body(transition: Transition, locked: Order) -> OrderStep:
        step = session.scalars(sa.select(OrderStep).where(OrderStep.id == step_id)
                               .execution_options(populate_existing=True)).one()
        if not may_do(actor, step):
            raise NotAllowed(f"step '{step.name}' is done by role {step.role}; you do not "
                             "have it", field="step", code="not_your_step")
        if step.state != OPEN or locked.status != step.status:
            raise TransitionRefused(f"step '{step.name}' is {step.state}; order "
                                    f"{locked.number} is {locked.status}", field="step",
                                    code="not_open")
        step.state, step.done_at, step.done_by = DONE, utcnow(), transition.actor_name
        transition.note(f"{step.status}: '{step.name}' done by {transition.actor_name}")
        return step

    return lifecycle.perform(session, int(order_id), "step", body, actor=actor)


def work_for(session: Session, user: Any, limit: int,
             after: WorkKey | None = None) -> list[WorkItem]:
    """The open steps within a status that ``user``'s roles do, the oldest first (at most
    ``limit`` after ``after``)."""
    roles = [role.name for role in getattr(user, "roles", ())]
    if not roles:
        return []
    query = sa.select(OrderStep).where(
        OrderStep.state == OPEN, sa.or_(OrderStep.role.in_(roles),
                                        OrderStep.escalate_to.in_(roles)))
    rows = list(session.scalars(
        (query if after is None else query.where(OrderStep.started_at > after.waiting_since))
        .order_by(OrderStep.started_at, OrderStep.id).limit(limit)))
    if after is not None:  # those of the cursor's moment: the core keeps the ones after it
        rows += session.scalars(query.where(OrderStep.started_at == after.waiting_since))
    return [WorkItem(kind="status_step", title=f"{step.name} ({step.status})",
                     reference=step.order.number, url=console_url("approvals_steps_to_do.index"),
                     step=step.name, waiting_since=step.started_at, due_at=step.due_at)
            for step in rows]


def late_steps(session: Session, now: datetime, after: LateBound | None = None,
               limit: int | None = None) -> list[LateStep]:
    """Open steps within a status past their ``due_at``, the latest first (the
    ``(state, due_at)`` index); with ``after`` and ``limit``, a page of them."""
    query = (sa.select(OrderStep).where(OrderStep.state == OPEN, OrderStep.due_at < now)
             .order_by(OrderStep.due_at, OrderStep.id))
    if after is not None:
        query = query.where(after.after(OrderStep.due_at, OrderStep.id))
    rows = session.scalars(query if limit is None else query.limit(limit))
    recipients: tuple[Recipient, ...]
    late: list[LateStep] = []
    for step in rows:
        recipients = (f"role:{step.role}",)
        late.append(LateStep(
            subject_id=step.id, step=step.name, kind="status_step",
            reference=step.order.number, started_at=step.started_at, due_at=step.due_at,
            action=step.breach_action, notify=recipients,
            escalate_to=step.escalate_to if step.breach_action == "escalate" else None,
            about=f"order {step.order.number} waits for '{step.name}' ({step.status})",
            held_by=(f"role {step.role}",), data={"order_id": step.order_id}))
    return late


def lock_step(session: Session, late: LateStep, now: datetime) -> OrderStep | None:
    lifecycle.lock(session, late.data["order_id"])
    step = session.scalars(sa.select(OrderStep).where(OrderStep.id == late.subject_id)
                           .execution_options(populate_existing=True)).one_or_none()
    if step is None or step.state != OPEN or step.due_at >= now:
        return None
    return step


def note(session: Session, step: OrderStep, message: str) -> None:
    record_event(session, step.order, kind="note", actor="sla sweep", message=message,
                 source="approvals")


def step_declaration() -> StepDeclaration:
    return StepDeclaration(
        name=DECLARATION, list_late=late_steps, list_late_page=late_steps, lock=lock_step,
        limit_parameter="approvals.step_time_limit", note=note,
        description="Each step within a status (picked, packed...), limited by its rule.")



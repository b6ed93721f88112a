"""Approval steps as the core's step time limits: what is late, and what happens then.

Each approval step has its own limit (from its rule, else ``approvals.step_time_limit``),
fixed in ``due_at`` when the step starts, and its own breach action: ``remind`` the
approvers who have not decided, ``escalate`` to another role (whose members may then
decide), ``approve`` or ``reject``. The core's sweep finds them through
:func:`step_declaration` (one query on the ``(status, due_at)`` index), claims each
breach once and calls the action here in the breach's transaction.

An order's department steps are the orders module's; when one runs late while an
approval holds the order, :func:`alert_approvers_of_late_order` alerts the approvers and
lets the escalation role decide the open step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.durations import format_duration
from erpkit.models import audit
from erpkit.plugins import registry_of
from erpkit.steps import Breach, LateBound, LateStep, StepDeclaration
from erpkit.transitions import Transition
from erpkit_approvals.decisions import complete_step, reject_step
from erpkit_approvals.evaluation import OPEN
from erpkit_approvals.models import ApprovalRequest, Decision, Step
from erpkit_approvals.notify import describe_holders, holders, notify
from erpkit_orders import lifecycle
from erpkit_orders.models import Order
from erpkit_orders.timeline import record_event

DECLARATION = "approvals.approval_step"


def _late(query: Any, after: LateBound | None, limit: int | None) -> Any:
    """``query`` of late steps in ``(due_at, id)`` order (the ``(status, due_at)``
    index), from ``after`` on, at most ``limit`` of them."""
    query = query.order_by(Step.due_at, Step.id)
    if after is not None:
        query = query.where(after.after(Step.due_at, Step.id))
    return query if limit is None else query.limit(limit)


def late_approval_steps(session: Session, now: datetime, after: LateBound | None = None,
                        limit: int | None = None) -> list[LateStep]:
    """Active steps of open requests whose ``due_at`` passed, the latest first; with
    ``after`` and ``limit``, at most ``limit`` of them after ``after`` (a page)."""
    rows = session.execute(_late(
        sa.select(Step, ApprovalRequest.summary, Order.number, Order.id)
        .join(ApprovalRequest, Step.request_id == ApprovalRequest.id)
        .join(Order, ApprovalRequest.order_id == Order.id)
        .where(Step.status == "active", ApprovalRequest.status == OPEN, Step.due_at < now,
               # the order still waits where the request holds it
               sa.or_(sa.and_(ApprovalRequest.gate == "submit",
                              Order.status == lifecycle.Status.PENDING_APPROVAL),
                      sa.and_(ApprovalRequest.gate != "submit",
                              Order.status == ApprovalRequest.from_status))),
        after, limit))
    late: list[LateStep] = []
    for step, summary, number, order_id in rows:
        due: datetime = step.due_at  # type: ignore[assignment]  # the query wants one
        late.append(LateStep(
            subject_id=step.id, step=step.name, kind="approval_step", reference=number,
            started_at=step.started_at or due, due_at=due, action=step.breach_action,
            escalate_to=step.escalate_to if step.breach_action == "escalate" else None,
            about=f"order {number} waits for approval ('{step.name}'): {summary}",
            held_by=tuple(describe_holders(step)),
            data={"order_id": order_id, "request_id": step.request_id}))
    both = sorted(late + _late_document_steps(session, now, after, limit),
                  key=lambda item: (item.due_at, item.subject_id))
    return both if limit is None else both[:limit]


def _late_document_steps(session: Session, now: datetime, after: LateBound | None,
                         limit: int | None) -> list[LateStep]:
    """Late steps of requests holding a plugin's document (whether it still waits is
    checked under its lock, by :func:`lock_step`)."""
    rows = session.execute(_late(
        sa.select(Step, ApprovalRequest)
        .join(ApprovalRequest, Step.request_id == ApprovalRequest.id)
        .where(Step.status == "active", ApprovalRequest.status == OPEN, Step.due_at < now,
               ApprovalRequest.order_id.is_(None)),
        after, limit))
    late: list[LateStep] = []
    for step, request in rows:
        due: datetime = step.due_at  # type: ignore[assignment]  # the query wants one
        late.append(LateStep(
            subject_id=step.id, step=step.name, kind="approval_step",
            reference=request.reference, started_at=step.started_at or due, due_at=due,
            action=step.breach_action,
            escalate_to=step.escalate_to if step.breach_action == "escalate" else None,
            about=f"{request.subject} waits for approval ('{step.name}'): {request.summary}",
            held_by=tuple(describe_holders(step)),
            data={"request_id": request.id, "document": request.document,
                  "document_id": request.document_id}))
    return late


def lock_step(session: Session, late: LateStep, now: datetime) -> Step | None:
    """The step, read again under its order's (or document's) lock; ``None`` once it is
    decided or what it holds no longer waits."""
    if "document" in late.data:
        from erpkit_approvals.document_gates import gate_of_request, lock_document

        request = session.get(ApprovalRequest, late.data["request_id"])
        if request is None:
            return None
        if lock_document(session, gate_of_request(registry_of(session), request),
                         request) is None:
            return None
    else:
        lifecycle.lock(session, late.data["order_id"])
    step = session.scalars(sa.select(Step).where(Step.id == late.subject_id)
                           .execution_options(populate_existing=True)).one_or_none()
    if (step is None or step.status != "active" or step.request.status != OPEN
            or step.due_at is None or step.due_at >= now):
        return None
    return step


def note_on_order(session: Session, step: Step, message: str) -> None:
    """The order's timeline; a document's audit log."""
    request = step.request
    if request.order is None:
        audit(session, actor="sla sweep", entity=str(request.document),
              entity_id=str(request.document_id), action="approval_late",
              after={"gate": request.gate, "request": request.id, "message": message})
        return
    record_event(session, request.order, kind="note", actor="sla sweep", message=message,
                 source="approvals")


def remind(breach: Breach) -> None:
    step: Step = breach.subject
    request = step.request
    notify(breach.session, holders(breach.session, step), kind="reminder",
           message=f"Reminder: {request.subject[0].lower()}{request.subject[1:]} waits for "
                   f"your approval ('{step.name}', {breach.late_by} late): {request.summary}",
           order_id=request.order_id, request_id=request.id)
    breach.note(f"'{step.name}' is {breach.late_by} late: approvers reminded")


def escalate(breach: Breach) -> None:
    step: Step = breach.subject
    if not step.escalate_to:
        breach.action = "remind"
        remind(breach)
        return
    step.escalated_to = step.escalate_to  # the role may now decide the step
    breach.escalate(step.escalate_to)


def _decide_automatically(breach: Breach, decision: str) -> None:
    step: Step = breach.subject
    request, order = step.request, step.request.order
    late_by = format_duration(breach.now - step.due_at) if step.due_at else breach.late_by
    step.decisions.append(Decision(login=None, decision=decision, automatic=True,
                                   comment=f"time limit passed ({late_by} late)"))
    if order is None:  # a plugin's document, locked by lock_step: the sweep's transaction
        _decide_document_automatically(breach, step, decision, late_by)
        return

    def body(transition: Transition, locked: Any) -> None:
        if decision == "approve":
            breach.note(f"'{step.name}' is {late_by} late: approved automatically, as its "
                        "rule says")
            complete_step(transition, request, step, locked)
        else:
            transition.reason = f"nobody decided '{step.name}' in time ({late_by} late)"
            reject_step(transition, request, step, locked, by=None)

    # The breach's claim and the decision are one transaction: the sweep's.
    lifecycle.perform_within(breach.session, order, "sla", body, actor="sla sweep",
                             registry=breach.registry)


def _decide_document_automatically(breach: Breach, step: Step, decision: str,
                                   late_by: str) -> None:
    from erpkit_approvals.document_gates import (
        complete_document_step,
        gate_of_request,
        lock_document,
        reject_document_step,
    )

    request = step.request
    gate = gate_of_request(breach.registry, request)
    document = lock_document(breach.session, gate, request)
    if decision == "approve":
        breach.note(f"'{step.name}' is {late_by} late: approved automatically, as its rule "
                    "says")
        complete_document_step(breach.session, gate, request, step, document, by=None)
    else:
        reject_document_step(breach.session, gate, request, step, document, by=None,
                             reason=f"nobody decided '{step.name}' in time ({late_by} late)")


def step_declaration() -> StepDeclaration:
    return StepDeclaration(
        name=DECLARATION,
        list_late=late_approval_steps,
        list_late_page=late_approval_steps,
        lock=lock_step,
        limit_parameter="approvals.step_time_limit",
        note=note_on_order,
        actions={"remind": remind, "escalate": escalate,
                 "approve": lambda breach: _decide_automatically(breach, "approve"),
                 "reject": lambda breach: _decide_automatically(breach, "reject")},
        description="Each approval step, limited by its rule (else approvals.step_time_limit).",
    )


def alert_approvers_of_late_order(subject: Any, action: str, session: Session) -> None:
    """A department step of an order waiting for approval ran late: alert the people of
    its open step, and let the escalation role decide it."""
    if not isinstance(subject, Order) or subject.status != lifecycle.Status.PENDING_APPROVAL:
        return
    request = session.scalar(sa.select(ApprovalRequest).where(
        ApprovalRequest.order_id == subject.id, ApprovalRequest.status == OPEN))
    step = request.current_step if request is not None else None
    if request is None or step is None:
        return
    held = holders(session, step)  # before the escalation role joins them
    if action == "escalate" and step.escalated_to is None:
        step.escalated_to = str(registry_of(session).parameters.get(
            session, "orders.sla.escalation_role"))
    notify(session, held, kind="alert",
           message=f"Order {subject.number} is late: it waits for your approval "
                   f"('{step.name}'): {request.summary}",
           order_id=subject.id, request_id=request.id)

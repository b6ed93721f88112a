"""Approving and rejecting: one decision, one transaction, with the order's move in it.

A decision locks the order first, so two approvers deciding at the same moment are taken
one after the other and the N-th approval is counted exactly once. When the last step is
approved, the order is approved (and, with ``orders.auto_confirm``, confirmed) in the
same transaction that records the approval: there is never an approved request with an
order still waiting, nor the reverse.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, lazyload

from erpkit import TransitionRefused, ValidationFailed
from erpkit.db import utcnow
from erpkit.plugins import Registry, registry_of
from erpkit.transitions import Transition
from erpkit_approvals.errors import NotAllowed, NotFound
from erpkit_approvals.evaluation import OPEN, close_request, start_step
from erpkit_approvals.models import ApprovalRequest, Decision, Step
from erpkit_approvals.notify import describe_holders, holders, may_act, notify, users_named
from erpkit_orders import lifecycle
from erpkit_orders.models import Customer, Order

#: Active steps read at a time by :func:`inbox` (whose rules Python checks last).
INBOX_BATCH = 200


def subject_of_request(session: Session, request_id: int) -> tuple[int | None, int | None]:
    """``(order id, document id)`` of what a request holds (it never changes)."""
    row = session.execute(sa.select(ApprovalRequest.order_id, ApprovalRequest.document_id)
                          .where(ApprovalRequest.id == request_id)).one_or_none()
    if row is None:
        raise NotFound(f"no approval request {request_id}", field="request")
    return row[0], row[1]


def order_id_of_request(session: Session, request_id: int) -> int:
    """The id of the order an approval request is about (it never changes)."""
    order_id = subject_of_request(session, request_id)[0]
    if order_id is None:
        raise NotFound(f"approval request {request_id} holds no order", field="request")
    return int(order_id)


def fresh_request(session: Session, request_id: int) -> ApprovalRequest:
    """The request read again, steps and decisions included: call it with its order
    locked (another approver may have decided while we waited for the lock).

    The order is not read with it: the door has just locked and read it (so
    ``request.order`` is found in the session), and reading it again here, fresh, loaded
    its lines and its customer's addresses once more (two queries per decision)."""
    return session.scalars(sa.select(ApprovalRequest).where(ApprovalRequest.id == request_id)
                           .options(lazyload(ApprovalRequest.order))
                           .execution_options(populate_existing=True)).one()


def check_may_decide(session: Session, step: Step, user: Any, order: Any,
                     registry: Registry | None = None, permission: str | None = None) -> None:
    """Refuse a user the step does not ask, and the order's submitter (unless allowed).

    ``order`` is the sales order or plugin document the request holds; ``permission``
    what a document's gate asks of its approvers besides."""
    if not may_act(user, step):
        raise NotAllowed(f"step '{step.name}' is for {_asked(step)}; you are not one of them",
                         field="request", code="not_your_step")
    if permission is not None and not user.can(permission):
        raise NotAllowed(f"deciding '{step.name}' needs the permission {permission}",
                         field="request", code="not_your_step")
    allow_self = (registry or registry_of(session)).parameters.get(
        session, "approvals.allow_self_approval")
    # Submit's request: who submitted the order; a gate's: who asked for the move.
    asker = order.submitted_by if step.request.gate == "submit" else step.request.submitted_by
    if asker == user.login and not allow_self:
        what = (f"submitted order {order.number}" if step.request.gate == "submit"
                else f"asked to {step.request.gate} order {order.number}")
        raise NotAllowed(f"you {what}: someone else must approve it "
                         "(parameter approvals.allow_self_approval)", field="request",
                         code="own_order")
    if any(d.login == user.login for d in step.decisions):
        raise TransitionRefused(
            f"you already decided step '{step.name}'; it counts once "
            f"({step.approvals} of {step.required} approvals so far)",
            field="request", code="already_decided")


def _asked(step: Step) -> str:
    return ", ".join(describe_holders(step)) or "nobody"


def approve(session: Session, request_id: int, *, actor: Any, comment: str = "") -> ApprovalRequest:
    """Record ``actor``'s approval of the request's current step (one transaction)."""
    return _decide(session, request_id, actor, "approve", comment)


def reject(session: Session, request_id: int, *, actor: Any, comment: str) -> ApprovalRequest:
    """Reject the request's current step, and so the order; a comment is required."""
    if not (comment or "").strip():
        raise TransitionRefused("say why you reject the order", field="comment",
                                code="comment_required")
    return _decide(session, request_id, actor, "reject", comment)


def _decide(session: Session, request_id: int, actor: Any, decision: str,
            comment: str) -> ApprovalRequest:
    comment = (comment or "").strip()
    if subject_of_request(session, request_id)[0] is None:  # a plugin's document
        from erpkit_approvals.document_gates import decide_on_document

        return decide_on_document(session, request_id, actor, decision, comment)

    def body(transition: Transition, order: Any) -> ApprovalRequest:
        request = fresh_request(session, request_id)
        step = request.current_step
        if request.status != OPEN or step is None or order.status != request.waits_in:
            raise TransitionRefused(
                f"approval request {request.id} is {request.status}; order {order.number} is "
                f"{order.status}", field="request", code="not_open")
        check_may_decide(session, step, actor, order, transition.registry)
        step.decisions.append(Decision(login=actor.login, decision=decision, comment=comment))
        if decision == "reject":
            reject_step(transition, request, step, order, by=actor.login)
        else:
            transition.note(f"{actor.login} approved '{step.name}' ({step.approvals} of "
                            f"{step.required})" + (f": {comment}" if comment else ""))
            if step.approvals >= step.required:
                complete_step(transition, request, step, order)
        session.flush()
        request.warnings = transition.warnings  # a confirmation refused after the last one
        return request

    # Through the orders module's door: the order is locked first, so two approvers
    # deciding at once are taken one after the other; a conflict runs it all again.
    return lifecycle.perform(session, order_id_of_request(session, request_id), decision,
                             body, actor=actor, reason=comment or None)


def complete_step(transition: Transition, request: ApprovalRequest, step: Step,
                  order: Any) -> None:
    """Mark ``step`` approved and start the next one; approve the order after the last."""
    session = transition.session
    if start_following(session, request, step):
        return
    if request.gate != "submit":
        from erpkit_approvals.gates import pass_gate

        pass_gate(transition, request, order)
    else:
        close_request(request, "approved")
        lifecycle.approve_in(transition, order, reason=f"approved: {request.summary}")
    notify(session, users_named(session, [request.submitted_by or ""]), kind="approved",
           message=f"Order {order.number} was approved"
           + (f" before {request.gate}" if request.gate != "submit" else ""), order_id=order.id,
           request_id=request.id)


def start_following(session: Session, request: ApprovalRequest, step: Step) -> bool:
    """Mark ``step`` approved and start the request's next step, telling its people;
    ``False`` when ``step`` was the last."""
    step.status, step.completed_at = "approved", utcnow()
    following = next((s for s in request.steps if s.status == "waiting"), None)
    if following is None:
        return False
    start_step(following)
    notify(session, holders(session, following), kind="approval_requested",
           message=f"{request.subject} waits for your approval ('{following.name}'): "
                   f"{request.summary}", order_id=request.order_id, request_id=request.id)
    return True


def reject_step(transition: Transition, request: ApprovalRequest, step: Step, order: Any, *,
                by: str | None) -> None:
    """Mark ``step`` rejected, close the request and reject the order."""
    session = transition.session
    step.status, step.completed_at = "rejected", utcnow()
    if request.gate != "submit":
        from erpkit_approvals.gates import refuse_gate

        refuse_gate(transition, request, step.name, order)
    else:
        close_request(request, "rejected")
        if transition.reason is None:
            transition.reason = f"rejected at '{step.name}'"
        lifecycle.reject_in(transition, order)
    if transition.reason is None:
        transition.reason = f"rejected at '{step.name}'"
    who = f" by {by}" if by else ""
    notify(session, users_named(session, [request.submitted_by or ""]), kind="rejected",
           message=f"Order {order.number} was rejected{who}"
           + (f" before {request.gate}" if request.gate != "submit" else "")
           + f": {transition.reason}",
           order_id=order.id, request_id=request.id)


def inbox(session: Session, user: Any, limit: int | None = None,
          registry: Registry | None = None, *,
          after: int | None = None, started_after: datetime | None = None,
          started_at: datetime | None = None) -> list[tuple[ApprovalRequest, Step]]:
    """The open requests whose current step ``user`` may decide now, oldest first (by
    when the step started, then its id: the index ``ix_approvals_step_status_started``).

    Steps they already decided, and their own orders (unless self-approval is allowed),
    are left out: the inbox lists only what they can act on. The database leaves out
    what it can tell (steps not asking them, decided, their own) and :func:`may_act` has
    the last word, so the active steps read are about as many as those listed. With
    ``limit``, the first that many; with ``after`` (a step's id, a page's cursor), those
    after that step; with ``started_after`` (or ``started_at``), the steps started after
    (or at) that moment: the work queues page by time.
    """
    allow_self = (registry or registry_of(session)).parameters.get(
        session, "approvals.allow_self_approval")
    query = (
        sa.select(ApprovalRequest, Step).join(Step, Step.request_id == ApprovalRequest.id)
        .where(ApprovalRequest.status == OPEN, Step.status == "active", _asks(user),
               ~sa.exists().where(Decision.step_id == Step.id, Decision.login == user.login))
        .order_by(Step.started_at, Step.id)
        # what the inbox and the work queues show of the order is its header: its lines,
        # its customer's addresses and the rule matches load only if someone reads them
        .options(lazyload(ApprovalRequest.matches),
                 joinedload(ApprovalRequest.order).lazyload(Order.lines),
                 joinedload(ApprovalRequest.order).joinedload(Order.customer)
                 .lazyload(Customer.addresses))
        .execution_options(yield_per=INBOX_BATCH))
    if not allow_self:
        query = query.where(sa.or_(ApprovalRequest.submitted_by.is_(None),
                                   ApprovalRequest.submitted_by != user.login))
    if after is not None:
        query = query.where(_after_step(session, after))
    if started_after is not None:
        query = query.where(Step.started_at > started_after)
    if started_at is not None:
        query = query.where(Step.started_at == started_at)
    rows = session.execute(query)
    found: list[tuple[ApprovalRequest, Step]] = []
    try:
        for request, step in rows:
            if (may_act(user, step)
                    and all(d.login != user.login for d in step.decisions)
                    and (allow_self or request.submitted_by != user.login)):
                found.append((request, step))
                if limit is not None and len(found) >= limit:
                    break
    finally:
        rows.close()
    return found


def _asks(user: Any) -> Any:
    """Steps that may ask ``user``: of one of their roles (or escalated to one), or
    naming them among their users. The users are a JSON list, matched as text (as the
    serializer writes a login, escaped or not): a step it lets through by mistake is
    left out by :func:`may_act`, and none it should list is left out."""
    roles = [role.name for role in getattr(user, "roles", ())]
    users = sa.cast(Step.users, sa.Text)
    return sa.or_(Step.role.in_(roles), Step.escalated_to.in_(roles),
                  *(users.contains(name, autoescape=True)
                    for name in {json.dumps(user.login), json.dumps(user.login,
                                                                    ensure_ascii=False)}))


def _after_step(session: Session, step_id: int) -> Any:
    """The inbox's steps after step ``step_id`` (a page's ``next``) in its order."""
    started = session.scalar(sa.select(Step.started_at).where(Step.id == step_id))
    if started is None:
        raise ValidationFailed.single(
            "after", f"no approval step {step_id} was ever in an inbox. Fix: pass back the "
            "`next` of a page, or leave `after` out to start again", code="unknown_cursor")
    return sa.or_(Step.started_at > started,
                  sa.and_(Step.started_at == started, Step.id > step_id))

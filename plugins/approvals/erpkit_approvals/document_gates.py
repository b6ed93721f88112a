"""Gates of plugins' own documents: a purchase order's approval held by the same rules,
steps and guarantees as a sales order's.

A plugin declares the move (``erpkit_gated_transitions``) and asks before making it
(``erpkit_document_gate``): the active rules of that gate are tested against the facts
the declaration computes; when any matches, a request with their steps is opened in the
asker's transaction and the document stays in ``waits_in``. Every decision is one
transaction with the document locked (the declaration's ``lock``), so two approvers
deciding at once are taken one after the other and the N-th approval counts once; the
unique (step, login) decision is the backstop. The last approval calls the
declaration's ``passed`` in that transaction. Each step of it is in the audit log under
the document (entity ``purchase_order``, say).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import TransitionRefused
from erpkit.document_gates import (
    DocumentHold,
    GatedTransition,
    document_facts,
    gated_transitions,
)
from erpkit.models import audit
from erpkit.plugins import Registry, registry_of
from erpkit.transitions import run_atomic
from erpkit_approvals.errors import NotAllowed
from erpkit_approvals.evaluation import OPEN, build_request, close_request, plan_from_facts
from erpkit_approvals.models import ApprovalRequest, Decision, Step
from erpkit_approvals.notify import holders, notify, users_named
from erpkit_approvals.rules import active_versions


def waiting_requests(session: Session, gate: GatedTransition,
                     document_id: int) -> list[ApprovalRequest]:
    """The open requests of ``gate`` holding the document ``document_id``."""
    return list(session.scalars(sa.select(ApprovalRequest).where(
        ApprovalRequest.document == gate.document, ApprovalRequest.document_id == document_id,
        ApprovalRequest.gate == gate.name, ApprovalRequest.status == OPEN)
        .order_by(ApprovalRequest.id)))


def _audit(session: Session, gate: GatedTransition, document: Any, action: str,
           actor: str | None, request: ApprovalRequest, **details: Any) -> None:
    audit(session, actor=actor, entity=gate.document, entity_id=str(document.id),
          action=action, after={"gate": gate.name, "request": request.id,
                                "number": document.number, "summary": request.summary,
                                **details})


def hold_document(gate: GatedTransition, document: Any, session: Session,
                  actor: Any, registry: Registry | None = None) -> DocumentHold | None:
    """Open a request when a rule of ``gate`` matches ``document``; ``None`` when none
    does. A move already waiting is refused: it waits on its request."""
    registry = registry or registry_of(session)
    waiting = waiting_requests(session, gate, document.id)
    if waiting:
        raise TransitionRefused(
            f"{gate.document.replace('_', ' ')} {document.number} already waits for approval "
            f"before {gate.name} (approval request {waiting[0].id}: {waiting[0].summary})",
            field="status", code="held")
    versions = active_versions(session, gate.name)
    if not versions:
        return None
    plan = plan_from_facts(session, registry, gate.name, versions,
                           document_facts(registry, session, gate, document))
    if plan is None:
        return None
    asked_by = getattr(actor, "login", None) or (str(actor) if actor else None)
    request = build_request(session, None, plan, submitted_by=asked_by,
                            from_status=gate.waits_in, document={
                                "document": gate.document, "document_id": document.id,
                                "document_number": document.number})
    step = request.steps[0]
    notify(session, holders(session, step), kind="approval_requested",
           message=f"{request.subject} waits for your approval before {gate.name} "
                   f"('{step.name}'): {request.summary}", request_id=request.id)
    _audit(session, gate, document, "approval_requested", asked_by, request)
    return DocumentHold(gate.name, request.summary, request.id)


def withdraw(gate: GatedTransition, document: Any, session: Session, reason: str) -> None:
    """The document left the status its move waits in: its open requests are closed."""
    for request in waiting_requests(session, gate, document.id):
        close_request(request, "cancelled")
        _audit(session, gate, document, "approval_withdrawn", None, request, reason=reason)


def gate_of_request(registry: Registry, request: ApprovalRequest) -> GatedTransition:
    """The declaration of the gate a document's request waits at; refused while the
    plugin declaring it is not enabled (nothing could make the move)."""
    gate = gated_transitions(registry).get(request.gate)
    if gate is None:
        raise TransitionRefused(
            f"approval request {request.id} waits at {request.gate}, which no enabled plugin "
            "declares. Fix: enable the plugin again.", field="request", code="not_open")
    return gate


def lock_document(session: Session, gate: GatedTransition,
                  request: ApprovalRequest) -> Any | None:
    """The document locked for this transaction, or ``None`` when it no longer waits."""
    document = gate.lock(session, int(request.document_id or 0))
    if document is None or document.status != gate.waits_in:
        return None
    return document


def decide_on_document(session: Session, request_id: int, actor: Any, decision: str,
                       comment: str) -> ApprovalRequest:
    """Record ``actor``'s decision on a document's request: one transaction, the
    document locked first (a conflict runs it all again)."""
    from erpkit_approvals.decisions import check_may_decide, fresh_request

    registry = registry_of(session)

    def body() -> ApprovalRequest:
        request = session.get(ApprovalRequest, request_id)
        assert request is not None  # looked up by the caller; requests are never deleted
        gate = gate_of_request(registry, request)
        document = lock_document(session, gate, request)
        request = fresh_request(session, request_id)
        step = request.current_step
        if request.status != OPEN or step is None or document is None:
            raise TransitionRefused(
                f"approval request {request.id} is {request.status}; {request.subject} "
                "no longer waits for it", field="request", code="not_open")
        if not actor.can("approvals.decide"):
            raise NotAllowed("deciding needs the permission approvals.decide",
                             field="request", code="not_your_step")
        check_may_decide(session, step, actor, document, registry, gate.decide_permission)
        step.decisions.append(Decision(login=actor.login, decision=decision, comment=comment))
        session.flush()  # the unique (step, login) row: one person counts once
        if decision == "reject":
            reject_document_step(session, gate, request, step, document, by=actor.login,
                                 reason=comment)
        else:
            _audit(session, gate, document, "approval_given", actor.login, request,
                   step=step.name, approvals=step.approvals, required=step.required)
            if step.approvals >= step.required:
                complete_document_step(session, gate, request, step, document,
                                       by=actor.login)
        session.flush()
        return request

    return run_atomic(session, body)


def complete_document_step(session: Session, gate: GatedTransition, request: ApprovalRequest,
                           step: Step, document: Any, *, by: str | None) -> None:
    """``step`` passed: start the next one, or after the last make the move."""
    from erpkit_approvals.decisions import start_following

    if start_following(session, request, step):
        return
    close_request(request, "approved")
    gate.passed(session, document, by)
    _audit(session, gate, document, "approved", by, request)
    notify(session, users_named(session, [request.submitted_by or ""]), kind="approved",
           message=f"{request.subject} was approved before {gate.name}",
           request_id=request.id)


def reject_document_step(session: Session, gate: GatedTransition, request: ApprovalRequest,
                         step: Step, document: Any, *, by: str | None, reason: str) -> None:
    """``step`` was rejected: the request closes and the document stays."""
    from erpkit.db import utcnow

    step.status, step.completed_at = "rejected", utcnow()
    close_request(request, "rejected")
    why = reason or f"rejected at '{step.name}'"
    if gate.refused is not None:
        gate.refused(session, document, why)
    _audit(session, gate, document, "rejected", by, request, step=step.name, reason=why)
    who = f" by {by}" if by else ""
    notify(session, users_named(session, [request.submitted_by or ""]), kind="rejected",
           message=f"{request.subject} was rejected{who} before {gate.name}: {why}",
           request_id=request.id)

"""Gates: approval rules that guard a move other than submit (confirm, ship, return...).

A rule names the transition it guards (``gate``). When the orders module asks at a
gated move (hook ``erpkit_order_gate``), the active rules of that gate are tested against
the order's facts; when any matches, the move is held: the order stays in its status and
a request with the matching rules' steps is opened, recording the move (its target status
and what it needs to be made later: quantities, a reason). The last approval makes the
move through the door (:func:`pass_gate`); a rejection refuses it and the order stays.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import TransitionRefused
from erpkit.transitions import Transition
from erpkit_approvals.evaluation import OPEN, build_request, close_request, plan_request
from erpkit_approvals.models import ApprovalRequest
from erpkit_approvals.notify import holders, notify
from erpkit_approvals.rules import active_versions, gate_of
from erpkit_orders import lifecycle


def hold_at_gate(order: Any, transition: Transition, gate: str,
                 to_status: str) -> lifecycle.GateHold | None:
    """The hold of a gated move when a rule of ``gate`` matches ``order``, else ``None``.

    A draft's cancellation is never held (nothing was promised yet). A move already held
    at the same gate is refused: it waits on its request.
    """
    if order.status == lifecycle.Status.DRAFT:
        return None
    plan = plan_request(transition, order, gate)
    if plan is None:
        return None
    waiting = transition.session.scalar(sa.select(ApprovalRequest).where(
        ApprovalRequest.order_id == order.id, ApprovalRequest.status == OPEN,
        ApprovalRequest.gate == gate))
    if waiting is not None:
        raise TransitionRefused(
            f"order {order.number} already waits for approval before {gate} (approval "
            f"request {waiting.id}: {waiting.summary})", field="status", code="held")
    asked_by = transition.actor_name
    hold = lifecycle.GateHold(plan["summary"], record=lambda t, o: _record(
        t, o, plan, hold, asked_by, to_status))
    return hold


def _record(transition: Transition, order: Any, plan: dict[str, Any],
            hold: lifecycle.GateHold, asked_by: str | None,
            to_status: str) -> ApprovalRequest:
    session = transition.session
    request = build_request(session, order.id, plan, submitted_by=asked_by,
                            from_status=order.status, to_status=to_status,
                            resume=dict(hold.resume))
    step = request.steps[0]
    notify(session, holders(session, step), kind="approval_requested",
           message=f"Order {order.number} waits for your approval before {plan['gate']} "
                   f"('{step.name}'): {request.summary}", order_id=order.id,
           request_id=request.id)
    return request


def pass_gate(transition: Transition, request: ApprovalRequest, order: Any) -> None:
    """The gate's last step passed: close the request and make the held move."""
    close_request(request, "approved")
    transition.note(f"approved before {request.gate}: {request.summary}")
    lifecycle.pass_gate_in(transition, order, request.gate, request.resume or {})


def refuse_gate(transition: Transition, request: ApprovalRequest, step_name: str,
                order: Any) -> None:
    """A step of the gate was rejected: close the request; the order stays where it is."""
    close_request(request, "rejected")
    why = transition.reason or f"rejected at '{step_name}'"
    transition.note(f"the move to {request.to_status} was refused ({request.gate} gate): "
                    f"{why}", public=False)


def close_stranded(session: Session, order: Any, old_status: str) -> None:
    """An order that left the status a gate request waits in (cancelled while its
    shipment waited, say) leaves no open request behind for approvers or the sweep.

    Looked up only while an active rule guards a gate (the rules are read once per
    transaction): a request left by a rule switched off since is closed by no one, but
    the sweep passes it over and a decision on it is refused (the order moved on).
    """
    if all(gate_of(version.definition) == "submit"
           or gate_of(version.definition).startswith("within:")
           for _rule, version in active_versions(session, None)):
        return
    for request in session.scalars(sa.select(ApprovalRequest).where(
            ApprovalRequest.order_id == order.id, ApprovalRequest.status == OPEN,
            ApprovalRequest.gate != "submit", ApprovalRequest.from_status == old_status)):
        close_request(request, "cancelled")

"""The approvals plugin: what it declares to the core and how it takes part in hooks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint
from marshmallow import fields
from sqlalchemy.orm import Session

from erpkit import Parameter, PluginMeta, WorkItem, hookimpl
from erpkit.admin.contrib import AdminView
from erpkit.auth import BUILTIN_ROLES, Permission
from erpkit.durations import Duration
from erpkit.steps import StepDeclaration
from erpkit.transitions import Transition
from erpkit_approvals import models
from erpkit_approvals.evaluation import (
    close_request,
    open_request,
    open_requests,
    supersede_open_requests,
)
from erpkit_approvals.models import ApprovalRequest
from erpkit_approvals.notify import holders, notify

PLUGIN = PluginMeta(
    name="approvals",
    requires=("orders",),
    core=">=0.1,<0.2",
    migrations="erpkit_approvals:migrations",
    description="Approval rules as data, N-of-M approval steps, time limits and escalation.",
)


@hookimpl
def erpkit_models() -> tuple[type, ...]:
    return models.MODELS


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    return [
        Parameter(
            name="approvals.allow_self_approval",
            type=fields.Boolean(),
            default=False,
            description="Let the person who submitted an order approve it themselves.",
        ),
        Parameter(
            name="approvals.step_time_limit",
            type=Duration(),
            default=timedelta(hours=24),
            description="Time limit of an approval step whose rule names none (4h, 90m, 2d).",
        ),
    ]


@hookimpl
def erpkit_permissions() -> list[Permission]:
    return [
        Permission("approvals.decide", "Approve or reject orders that rules hold",
                   ("admin", "approver")),
        Permission("approvals.rules", "Create, edit, switch off and dry-run approval rules",
                   ("admin",)),
        Permission("approvals.overdue", "See what is late, by how much, and who holds it",
                   tuple(BUILTIN_ROLES)),
    ]


@hookimpl
def erpkit_blueprints() -> list[Blueprint]:
    from erpkit_approvals.admin import templates_blueprint
    from erpkit_approvals.api import approvals_blueprint

    return [approvals_blueprint(), templates_blueprint()]


@hookimpl
def erpkit_admin_views() -> list[AdminView]:
    from erpkit_approvals.admin import admin_views

    return admin_views()


@hookimpl
def erpkit_work_queue(user: Any, session: Session, limit: int,
                      after: Any) -> list[WorkItem]:
    """The approval steps ``user`` may decide now, as in their inbox, and the steps within
    a status their roles do (from ``after``'s time on)."""
    from erpkit_approvals.status_steps import work_for
    from erpkit_approvals.work import approvals_waiting_on

    found = (approvals_waiting_on(session, user, limit, after)
             if user.can("approvals.decide") else [])
    return found + work_for(session, user, limit, after)


@hookimpl
def erpkit_steps() -> list[StepDeclaration]:
    """The approval steps and their time limits, swept by the core."""
    from erpkit_approvals import status_steps
    from erpkit_approvals.time_limits import step_declaration

    return [step_declaration(), status_steps.step_declaration()]


@hookimpl
def erpkit_step_breached(subject: Any, action: str, session: Session) -> None:
    """An order's department step ran late while an approval holds it: its approvers
    hear of it, and the escalation role may decide the step."""
    from erpkit_approvals.time_limits import alert_approvers_of_late_order

    alert_approvers_of_late_order(subject, action, session)


@hookimpl
def erpkit_fact_uses(session: Session) -> dict[str, list[str]]:
    from erpkit_approvals.missing_facts import fact_uses

    return fact_uses(session)


@hookimpl
def erpkit_demo_data(session: Session, users: Any) -> None:
    from erpkit_approvals.demo import load_demo

    load_demo(session, users)


#: The statuses of an order that may have an open request: a request is opened when the
#: order starts waiting, and closed when it stops (erpkit_order_status_changed below), so
#: an order being submitted (a draft before) has none, and is not looked up.
_MAY_HAVE_OPEN_REQUESTS = frozenset({"pending_approval", "approved"})


@hookimpl
def erpkit_order_approval_required(order: Any, transition: Transition) -> list[ApprovalRequest]:
    """Open one request with the steps of every matching rule; none when no rule matches.

    Called again when an order changes after approval was asked: the request it waited
    on is superseded first, so an order never waits on two requests.
    """
    if order.status in _MAY_HAVE_OPEN_REQUESTS:
        supersede_open_requests(transition, order)
    request = open_request(transition, order)
    return [request] if request is not None else []


@hookimpl
def erpkit_order_gate(order: Any, transition: Transition, gate: str, to_status: str) -> Any:
    """Refuse leaving a status whose steps are not done; hold a gated move (confirm, ship,
    return...) when a rule of that gate matches."""
    from erpkit_approvals.gates import hold_at_gate
    from erpkit_approvals.status_steps import refuse_leaving_with_steps_open

    refuse_leaving_with_steps_open(transition, order, gate)
    return hold_at_gate(order, transition, gate, to_status)


@hookimpl
def erpkit_document_gate(gate: Any, document: Any, session: Session, actor: Any) -> Any:
    """Hold a plugin document's move (a purchase order's approval) when a rule of its
    gate matches, with the same steps, decisions and time limits as an order's."""
    from erpkit_approvals.document_gates import hold_document

    return hold_document(gate, document, session, actor)


@hookimpl
def erpkit_document_gate_withdrawn(gate: Any, document: Any, session: Session,
                                   reason: str) -> None:
    """A held document moved on another way: nothing waits on its request any more."""
    from erpkit_approvals.document_gates import withdraw

    withdraw(gate, document, session, reason)


@hookimpl
def erpkit_order_approval_requested(order: Any, request: Any, transition: Transition) -> None:
    """Tell the people of the first step that an order waits for them."""
    if not isinstance(request, ApprovalRequest) or request.current_step is None:
        return
    step = request.current_step
    notify(transition.session, holders(transition.session, step), kind="approval_requested",
           message=f"Order {order.number} waits for your approval ('{step.name}'): "
                   f"{request.summary}", order_id=order.id, request_id=request.id)


#: Statuses no gate request waits in: a draft's moves are never held, submitted and
#: pending_approval are submit's own.
_NO_GATE_WAITS_IN = frozenset({"draft", "submitted", "pending_approval"})

def _steps_within(transition: Transition, order: Any, old_status: str, new_status: str) -> None:
    from erpkit_approvals.rules import active_versions
    from erpkit_approvals.schemas import WITHIN
    from erpkit_approvals.status_steps import close_left_behind, enter_status

    if old_status in WITHIN and active_versions(transition.session, f"within:{old_status}"):
        close_left_behind(transition.session, order, old_status)
    if new_status in WITHIN:
        enter_status(transition, order, new_status)


_CLOSED_BY_STATUS = {"approved": "approved", "rejected": "rejected", "cancelled": "cancelled"}


@hookimpl
def erpkit_order_status_changed(order: Any, old_status: str, new_status: str,
                                transition: Transition) -> None:
    """An order that stops waiting by another way (cancelled, approved by hand) leaves
    no open request behind for approvers or the sweep."""
    if old_status == new_status:
        return
    if old_status not in _NO_GATE_WAITS_IN:
        from erpkit_approvals.gates import close_stranded

        close_stranded(transition.session, order, old_status)
    _steps_within(transition, order, old_status, new_status)
    if old_status != "pending_approval":
        return
    for request in open_requests(transition.session, order.id):
        close_request(request, _CLOSED_BY_STATUS.get(new_status, "cancelled"))


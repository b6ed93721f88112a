"""The console screen for steps within a status: admins add the named steps an order
passes while it stays in a status (picked, quality-checked, packed), each with the role
that does it, its time limit and what happens when it runs over.

They are rules with ``within`` (see :mod:`erpkit_approvals.status_steps`): the editor is
the rule editor's, so each save is validated (a step no active person of its role can do
is refused with the reason), versioned and audited; the page shows, beside the current
versions, the orders in flight with the version they entered the status under.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose

from erpkit import TransitionRefused
from erpkit.auth import current_user
from erpkit.db import db, utcnow
from erpkit_approvals import rules
from erpkit_approvals.admin import RulesView
from erpkit_approvals.models import OrderStep, Rule
from erpkit_approvals.schemas import WITHIN
from erpkit_approvals.status_steps import OPEN, mark_done


def steps_by_status() -> dict[str, list[tuple[Rule, dict[str, Any]]]]:
    """Every rule adding steps within each status (on or off), with its current
    definition, by status in the order of the flow."""
    found: dict[str, list[tuple[Rule, dict[str, Any]]]] = {status: [] for status in WITHIN}
    for rule in db.session.scalars(sa.select(Rule).order_by(Rule.priority, Rule.id)):
        definition = rules.current_definition(rule)
        if definition.get("within") in found:
            found[definition["within"]].append((rule, definition))
    return found


def in_flight() -> list[dict[str, Any]]:
    """Orders with open steps within a status: which, under which rule version."""
    orders: dict[tuple[int, str], dict[str, Any]] = {}
    steps: dict[tuple[int, str], list[OrderStep]] = defaultdict(list)
    for step in db.session.scalars(sa.select(OrderStep).where(OrderStep.state == OPEN)
                                   .order_by(OrderStep.order_id, OrderStep.position)
                                   .limit(500)):
        key = (step.order_id, step.status)
        orders.setdefault(key, {"number": step.order.number, "status": step.status,
                                "versions": set()})
        orders[key]["versions"].add(step.rule_version)
        steps[key].append(step)
    return [{**orders[key], "versions": sorted(orders[key]["versions"]),
             "steps": steps[key]} for key in orders]


class StatusStepsView(RulesView):
    """Steps within each status, and an editor for them (a rule with ``within``)."""

    editor_template = "approvals/status_steps_edit.html"

    def blank_definition(self) -> dict[str, Any]:
        status = request.args.get("status")
        return {"active": True, "priority": 100,
                "within": status if status in WITHIN else WITHIN[1]}

    @expose("/")
    def index(self) -> Any:
        return self.render("approvals/status_steps.html", statuses=steps_by_status(),
                           in_flight=in_flight())


class StepsToDoView(BaseView):
    """The open steps within a status that the current user's roles do, with a button to
    record each one done (the same service as ``POST /api/approvals/order-steps/<id>/done``:
    through the order's door, on its timeline)."""

    @expose("/")
    def index(self) -> Any:
        user = current_user()
        roles = [role.name for role in getattr(user, "roles", ())]
        query = sa.select(OrderStep).where(OrderStep.state == OPEN).order_by(
            OrderStep.started_at, OrderStep.id).limit(200)
        if "admin" not in roles:
            query = query.where(sa.or_(OrderStep.role.in_(roles),
                                       OrderStep.escalate_to.in_(roles)))
        return self.render("approvals/steps_to_do.html", steps=db.session.scalars(query).all(),
                           now=utcnow())

    @expose("/<int:step_id>/done", methods=("POST",))
    def done(self, step_id: int) -> Any:
        try:
            step = mark_done(db.session, step_id, actor=current_user())
        except TransitionRefused as exc:
            db.session.rollback()
            flash(f"Not recorded: {exc.message}", "error")
            return redirect(url_for(".index"))
        flash(f"'{step.name}' of order {step.order.number} is done.", "success")
        return redirect(url_for(".index"))

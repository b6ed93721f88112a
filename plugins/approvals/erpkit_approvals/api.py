"""JSON endpoints: the approver's inbox, decisions, rules, dry runs and what is late.

Every endpoint checks its permission on the server before reading input (the rules'
permission unless a route names another):
``approvals.decide`` to approve or reject, ``approvals.rules`` to read or change rules,
``approvals.overdue`` for the overdue list, ``orders.view`` to read a request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, ValidationError, fields, validate

from erpkit.api import Blueprint
from erpkit.auth import permission_required, require_user
from erpkit.db import db, reading_from_here, utcnow
from erpkit.durations import format_duration
from erpkit.plugins import current_registry
from erpkit.schemas import Cursor, Identifier, PageSize, one_page, page_schema
from erpkit.steps import OverdueCursor, overdue_page
from erpkit.transitions import get_or_404
from erpkit_approvals import decisions, pages, rules
from erpkit_approvals.conditions import OPERATORS
from erpkit_approvals.missing_facts import missing_facts
from erpkit_approvals.models import ApprovalRequest, Rule, Step
from erpkit_approvals.schemas import ApprovalRuleSchema, RuleDryRunSchema

DECIDE, RULES, OVERDUE, VIEW = ("approvals.decide", "approvals.rules", "approvals.overdue",
                                "orders.view")

# Every listing that can grow is a page: ``{"items": [...], "next": ...}``, ``next``
# passed back as ``after`` (or ``before``) for the next one; no counts, so a page costs
# the same work however many rows there are.


# --- schemas of what the endpoints return ---------------------------------------------


class ApprovalDecisionOut(Schema):
    login = fields.String(allow_none=True)
    decision = fields.String()
    comment = fields.String()
    automatic = fields.Boolean()
    at = fields.DateTime()


class ApprovalStepOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    name = fields.String()
    rule_id = fields.Integer()
    rule_version = fields.Integer()
    role = fields.String(allow_none=True)
    users = fields.List(fields.String())
    required = fields.Integer()
    approvals = fields.Integer()
    status = fields.String()
    time_limit = fields.String()
    breach_action = fields.String()
    escalate_to = fields.String(allow_none=True)
    escalated_to = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    decisions = fields.List(fields.Nested(ApprovalDecisionOut))


class RuleMatchOut(Schema):
    rule_id = fields.Integer()
    rule_name = fields.String()
    version = fields.Integer()
    facts = fields.Dict()
    why = fields.String(metadata={"description": "e.g. total 12,400.00 > 10,000.00"})


class ApprovalRequestOut(Schema):
    id = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    order_number = fields.String(allow_none=True)
    document = fields.String(allow_none=True, metadata={
        "description": "For a plugin's document (a purchase order): its kind; null for "
                       "a sales order."})
    document_id = fields.Integer(allow_none=True)
    reference = fields.String(metadata={"description": "The order's or document's number."})
    status = fields.String()
    gate = fields.String(metadata={"description": "The transition the request holds: "
                                                  "submit, confirm, ship, deliver, cancel, "
                                                  "return or reopen."})
    to_status = fields.String(allow_none=True, metadata={
        "description": "For a gate: the status the held move leads to once approved."})
    summary = fields.String()
    submitted_by = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    current_step_id = fields.Integer(allow_none=True)
    order_status = fields.String(allow_none=True)
    matches = fields.List(fields.Nested(RuleMatchOut))
    steps = fields.List(fields.Nested(ApprovalStepOut))
    warnings = fields.List(fields.Dict(), metadata={
        "description": "After a decision: what it let through but you should know, such as "
                       "a confirmation a plugin refused after the last approval (the order "
                       "stays approved): {code, message, plugin, refusal_code}."})


class ApprovalInboxItemOut(Schema):
    request_id = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    order_number = fields.String(allow_none=True)
    order_total = fields.Decimal(as_string=True, allow_none=True)
    currency = fields.String(allow_none=True)
    document = fields.String(allow_none=True)
    document_id = fields.Integer(allow_none=True)
    reference = fields.String()
    gate = fields.String()
    submitted_by = fields.String(allow_none=True)
    step = fields.String()
    step_id = fields.Integer()
    approvals = fields.Integer()
    required = fields.Integer()
    waiting_since = fields.DateTime()
    due_at = fields.DateTime()
    time_left = fields.String(metadata={"description": "Negative when late: -2h."})
    time_left_seconds = fields.Integer()
    summary = fields.String()


class ApprovalDecisionIn(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class ApprovalRejectIn(Schema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ApprovalRuleOut(Schema):
    id = fields.Integer()
    name = fields.String()
    active = fields.Boolean()
    gate = fields.String()
    priority = fields.Integer()
    version = fields.Integer()
    match = fields.String()
    conditions = fields.List(fields.Dict())
    steps = fields.List(fields.Dict())
    missing_facts = fields.List(fields.String(), metadata={
        "description": "Facts the rule tests that no enabled plugin declares: its conditions "
                       "on them hold, so the orders it tests wait for a person."})
    updated_at = fields.DateTime()


class ApprovalRuleVersionOut(Schema):
    version = fields.Integer()
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    current = fields.Boolean()
    definition = fields.Dict()


class RuleSwitchIn(Schema):
    active = fields.Boolean(required=True)


class RuleDryRunOut(Schema):
    examined = fields.Integer(metadata={"description": "Orders looked at."})
    matched = fields.Integer(metadata={"description": "How many it would have held."})
    examples = fields.List(fields.Dict(), metadata={
        "description": "Up to five: number, why, held (before which gate), waits_in (the "
                       "status), reached (it made the guarded move), in_status (how long it "
                       "actually stayed there), held_for and basis (measured: its real "
                       "wait at this gate; time_limits: the steps' limits added up)."})
    held_at = fields.Dict(metadata={"description": "Matched orders that got there, by the "
                                                   "status they would have waited in."})
    time_limits = fields.String(metadata={"description": "The steps' time limits added up."})


class ApprovalFactOut(Schema):
    name = fields.String()
    type = fields.String()
    description = fields.String()
    plugin = fields.String()
    operators = fields.List(fields.String())


class OrderStepQuery(Schema):
    order_id = Identifier(required=True)


class OrderStepOut(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    status = fields.String()
    name = fields.String()
    role = fields.String()
    rule_id = fields.Integer()
    rule_version = fields.Integer()
    state = fields.String(metadata={"description": "open, done or closed"})
    started_at = fields.DateTime()
    due_at = fields.DateTime()
    done_at = fields.DateTime(allow_none=True)
    done_by = fields.String(allow_none=True)


class OverdueOut(Schema):
    kind = fields.String()
    subject_id = fields.Integer()
    step = fields.String()
    order_id = fields.Integer()
    order_number = fields.String()
    started_at = fields.String()
    due_at = fields.String()
    overdue_by = fields.String()
    overdue_seconds = fields.Integer()
    held_by = fields.List(fields.String())
    action = fields.String(metadata={"description": "What the sweep does: remind, escalate, "
                                                    "approve or reject."})
    escalate_to = fields.String(allow_none=True)


class ApprovalRequestQuery(Schema):
    order_id = Identifier(load_default=None)
    document = fields.String(load_default=None, validate=validate.Length(max=40))
    document_id = Identifier(load_default=None)
    status = fields.String(load_default=None)
    limit = PageSize()
    before = Cursor(metadata={"description": "The `next` of the previous page: requests "
                                             "older than this id."})


class InboxQuery(Schema):
    limit = PageSize()
    after = Cursor(metadata={"description": "The `next` of the previous page: steps that "
                                            "started after this step (its id)."})


class RuleQuery(Schema):
    limit = PageSize()
    after = Cursor(metadata={"description": "The `next` of the previous page: rules after "
                                            "this rule (its id) in priority order."})


class RuleVersionQuery(Schema):
    limit = PageSize()
    after = Cursor(metadata={"description": "The `next` of the previous page: versions "
                                            "after this version number."})


class OverdueCursorField(fields.String):
    """A page's ``next`` of the overdue list, read into an :class:`OverdueCursor`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return OverdueCursor.parse(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class OverdueQuery(Schema):
    limit = PageSize()
    after = OverdueCursorField(metadata={"description": "The `next` of the previous page "
                                                        "(`<due_at>~<step>~<id>`)."})


InboxPage = page_schema("ApprovalInboxPage", ApprovalInboxItemOut, fields.Integer)
RequestPage = page_schema("ApprovalRequestPage", ApprovalRequestOut, fields.Integer,
                          "Pass as `before` for the next page; null on the last page.")
RulePage = page_schema("ApprovalRulePage", ApprovalRuleOut, fields.Integer)
RuleVersionPage = page_schema("ApprovalRuleVersionPage", ApprovalRuleVersionOut,
                              fields.Integer)
OverduePage = page_schema("OverduePage", OverdueOut)


# --- helpers --------------------------------------------------------------------------


def step_dict(step: Step) -> dict[str, Any]:
    return {
        "id": step.id, "position": step.position, "name": step.name, "rule_id": step.rule_id,
        "rule_version": step.rule_version, "role": step.role, "users": step.users or [],
        "required": step.required, "approvals": step.approvals, "status": step.status,
        "time_limit": format_duration(step.time_limit), "breach_action": step.breach_action,
        "escalate_to": step.escalate_to, "escalated_to": step.escalated_to,
        "started_at": step.started_at, "due_at": step.due_at,
        "decisions": [{"login": d.login, "decision": d.decision, "comment": d.comment,
                       "automatic": d.automatic, "at": d.at} for d in step.decisions],
    }


def request_dict(request: ApprovalRequest) -> dict[str, Any]:
    current = request.current_step
    order = request.order
    return {
        "id": request.id, "order_id": request.order_id,
        "order_number": order.number if order is not None else None,
        "order_status": order.status if order is not None else None,
        "document": request.document, "document_id": request.document_id,
        "reference": request.reference, "status": request.status,
        "summary": request.summary, "submitted_by": request.submitted_by,
        "gate": request.gate, "to_status": request.to_status,
        "opened_at": request.opened_at, "closed_at": request.closed_at,
        "current_step_id": current.id if current is not None else None,
        "matches": [{"rule_id": m.rule_id, "rule_name": m.rule_name, "version": m.version,
                     "facts": m.facts, "why": m.why} for m in request.matches],
        "steps": [step_dict(s) for s in request.steps],
        "warnings": request.warnings,
    }


def rule_dict(rule: Rule, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    """A rule as the API shows it; ``definition``: its current one, when read already."""
    definition = rules.current_definition(rule) if definition is None else definition
    return {"id": rule.id, "name": rule.name, "active": rule.active, "priority": rule.priority,
            "version": rule.current_version, "gate": rules.gate_of(definition),
            "match": definition.get("match", "all"),
            "conditions": definition.get("conditions", []), "steps": definition["steps"],
            "missing_facts": missing_facts(definition, current_registry().facts),
            "updated_at": rule.updated_at}


def inbox_item(request: ApprovalRequest, step: Step, now: datetime) -> dict[str, Any]:
    due = step.due_at or now
    order = request.order
    return {
        "request_id": request.id, "order_id": request.order_id,
        "order_number": order.number if order is not None else None,
        "order_total": order.total if order is not None else None,
        "currency": order.currency if order is not None else None,
        "document": request.document, "document_id": request.document_id,
        "reference": request.reference, "gate": request.gate,
        "submitted_by": request.submitted_by,
        "step": step.name, "step_id": step.id, "approvals": step.approvals,
        "required": step.required, "waiting_since": step.started_at, "due_at": due,
        "time_left": format_duration(due - now),
        "time_left_seconds": int((due - now).total_seconds()), "summary": request.summary,
    }


def _request(request_id: int) -> ApprovalRequest:
    return get_or_404(db.session, ApprovalRequest, request_id, what="approval request",
                      field="request")


# --- the blueprints -------------------------------------------------------------------


def approvals_blueprint() -> Blueprint:
    """A new blueprint each call, so two apps in one process never share one."""
    blp = Blueprint("approvals", __name__, url_prefix="/api/approvals",
                    description="Approval requests, decisions, rules and time limits.",
                    permission=RULES)

    @blp.get("/inbox")
    @permission_required(DECIDE)
    @blp.arguments(InboxQuery, location="query")
    @blp.response(200, InboxPage)
    def inbox(args: dict[str, Any]) -> Any:
        """What the current user can approve now, oldest first, with the time left, a
        page at a time."""
        now = utcnow()
        found = decisions.inbox(db.session, require_user(), args["limit"] + 1,
                                after=args.get("after"))
        page = one_page(found, args["limit"], lambda row: row[1].id)
        return {"items": [inbox_item(r, s, now) for r, s in page["items"]],
                "next": page["next"]}

    @blp.get("/requests")
    @permission_required(VIEW)
    @blp.arguments(ApprovalRequestQuery, location="query")
    @blp.response(200, RequestPage)
    def list_requests(query: dict[str, Any]) -> Any:
        """Approval requests, newest first, a page at a time; filter by ``order_id``,
        ``document`` and ``document_id``, or ``status``."""
        found = pages.requests_page(
            db.session, limit=query["limit"] + 1, before=query.get("before"),
            order_id=query.get("order_id"), document=query.get("document"),
            document_id=query.get("document_id"), status=query.get("status"))
        page = one_page(found, query["limit"], lambda request: request.id)
        return {"items": [request_dict(r) for r in page["items"]], "next": page["next"]}

    @blp.get("/requests/<int:request_id>")
    @permission_required(VIEW)
    @blp.response(200, ApprovalRequestOut)
    def get_request(request_id: int) -> Any:
        """One request: why it was opened (rule, version, facts) and each step's state."""
        return request_dict(_request(request_id))

    @blp.post("/requests/<int:request_id>/approve")
    @permission_required(DECIDE)
    @blp.arguments(ApprovalDecisionIn)
    @blp.response(200, ApprovalRequestOut)
    def approve(body: dict[str, Any], request_id: int) -> Any:
        """Approve the request's current step; the last approval approves the order."""
        request = decisions.approve(db.session, request_id, actor=require_user(),
                                    comment=body["comment"])
        reading_from_here(db.session)
        return request_dict(request)

    @blp.post("/requests/<int:request_id>/reject")
    @permission_required(DECIDE)
    @blp.arguments(ApprovalRejectIn)
    @blp.response(200, ApprovalRequestOut)
    def reject(body: dict[str, Any], request_id: int) -> Any:
        """Reject the request (and so the order); a comment saying why is required."""
        request = decisions.reject(db.session, request_id, actor=require_user(),
                                   comment=body["comment"])
        reading_from_here(db.session)
        return request_dict(request)

    @blp.get("/facts")
    @blp.response(200, ApprovalFactOut(many=True))
    def facts() -> Any:
        """The facts rules may test, with the operators each allows."""
        return [{"name": name, "type": fact.type, "description": fact.description,
                 "plugin": owner, "operators": list(OPERATORS[fact.type])}
                for name, (owner, fact) in sorted(current_registry().facts.items())]

    @blp.get("/rules")
    @blp.arguments(RuleQuery, location="query")
    @blp.response(200, RulePage)
    def list_rules(args: dict[str, Any]) -> Any:
        """The rules with their current version, lowest priority number first, a page at
        a time."""
        found = pages.rules_page(db.session, limit=args["limit"] + 1, after=args.get("after"))
        page = one_page(found, args["limit"], lambda rule: rule.id)
        definitions = pages.current_definitions(db.session, page["items"])
        return {"items": [rule_dict(rule, definitions[rule.id]) for rule in page["items"]],
                "next": page["next"]}

    @blp.post("/rules")
    @blp.arguments(ApprovalRuleSchema)
    @blp.response(201, ApprovalRuleOut)
    def create_rule(body: dict[str, Any]) -> Any:
        """Create a rule (version 1). Refused with 422 naming each problem."""
        rule = rules.create_rule(db.session, body, actor=require_user().login)
        db.session.commit()
        return rule_dict(rule)

    @blp.get("/rules/<int:rule_id>")
    @blp.response(200, ApprovalRuleOut)
    def get_rule(rule_id: int) -> Any:
        return rule_dict(rules.get_rule(db.session, rule_id))

    @blp.put("/rules/<int:rule_id>")
    @blp.arguments(ApprovalRuleSchema)
    @blp.response(200, ApprovalRuleOut)
    def update_rule(body: dict[str, Any], rule_id: int) -> Any:
        """Edit a rule: a new version when anything but ``active`` changed. Orders
        already waiting finish under the version they matched."""
        rule = rules.update_rule(db.session, rule_id, body, actor=require_user().login)
        db.session.commit()
        return rule_dict(rule)

    @blp.patch("/rules/<int:rule_id>")
    @blp.arguments(RuleSwitchIn)
    @blp.response(200, ApprovalRuleOut)
    def switch_rule(body: dict[str, Any], rule_id: int) -> Any:
        """Switch a rule on or off (no new version). Orders waiting on it stay decidable."""
        rule = rules.set_active(db.session, rule_id, body["active"], actor=require_user().login)
        db.session.commit()
        return rule_dict(rule)

    @blp.get("/rules/<int:rule_id>/versions")
    @blp.arguments(RuleVersionQuery, location="query")
    @blp.response(200, RuleVersionPage)
    def rule_versions(args: dict[str, Any], rule_id: int) -> Any:
        """A rule's versions, oldest first, a page at a time."""
        rule = rules.get_rule(db.session, rule_id)
        found = pages.versions_page(db.session, rule.id, limit=args["limit"] + 1,
                                    after=args.get("after"))
        page = one_page(found, args["limit"], lambda version: version.version)
        return {"items": [{"version": v.version, "created_at": v.created_at,
                           "created_by": v.created_by,
                           "current": v.version == rule.current_version,
                           "definition": v.definition} for v in page["items"]],
                "next": page["next"]}

    @blp.post("/rules/dry-run")
    @blp.arguments(RuleDryRunSchema)
    @blp.response(200, RuleDryRunOut)
    def dry_run(body: dict[str, Any]) -> Any:
        """How many of the last ``last`` orders (beyond draft) this unsaved rule would have
        held for approval, with up to five examples. Nothing is saved."""
        result = rules.dry_run(db.session, body, last=body["last"])
        db.session.rollback()
        return {"examined": result.examined, "matched": result.matched,
                "examples": result.examples, "held_at": result.held_at,
                "time_limits": result.time_limits}

    @blp.get("/overdue")
    @permission_required(OVERDUE)
    @blp.arguments(OverdueQuery, location="query")
    @blp.response(200, OverduePage)
    def overdue_list(args: dict[str, Any]) -> Any:
        """What is late now, the latest first: by how much, and who holds it, a page at
        a time."""
        now = utcnow()
        found = overdue_page(db.session, current_registry(), now, limit=args["limit"] + 1,
                             after=args.get("after"))
        page = one_page(found, args["limit"], lambda late: str(OverdueCursor.of(late)))
        return {"items": [{**late.as_dict(now), "order_number": late.reference}
                          for late in page["items"]], "next": page["next"]}

    @blp.get("/order-steps")
    @permission_required(VIEW)
    @blp.arguments(OrderStepQuery, location="query")
    @blp.response(200, OrderStepOut(many=True))
    def list_order_steps(query: dict[str, Any]) -> Any:
        """An order's steps within its statuses (picked, packed...), done or not."""
        from erpkit_approvals.models import OrderStep

        # Not a page: one order's steps, as many as the rules' steps within the statuses
        # it entered (each entry copies them once), a few rows an order, never a table.

        return list(db.session.scalars(sa.select(OrderStep).where(
            OrderStep.order_id == query["order_id"]).order_by(OrderStep.id)))

    @blp.post("/order-steps/<int:step_id>/done")
    @permission_required("orders.view")
    @blp.response(200, OrderStepOut)
    def order_step_done(step_id: int) -> Any:
        """Record that you did the step (your role must be the step's)."""
        from erpkit_approvals.status_steps import mark_done

        return mark_done(db.session, step_id, actor=require_user())

    @blp.get("/flow.svg")
    @permission_required(RULES)
    @blp.doc(responses={200: {"description": "The order flow as SVG: statuses, moves, "
                                             "and the gates of active rules.",
                              "content": {"image/svg+xml": {}}}})
    def flow_svg() -> Any:
        """The order flow as a diagram (SVG, drawn on the server)."""
        from flask import Response

        from erpkit_approvals.flow import render_svg

        return Response(render_svg(db.session, current_registry()), mimetype="image/svg+xml")

    return blp

"""Console views: rules (an editor with versions and a dry run), requests, what is late.

The core builds each view behind its permission check and prefixes its endpoint with
``approvals_``. The rule editor goes through the same schema and service functions as the
JSON API, so a rule saved here is validated, versioned and audited the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, request, url_for
from flask_admin import BaseView, expose

from erpkit.admin.audited import current_actor
from erpkit.admin.contrib import AdminView, ModelView
from erpkit.db import db, utcnow
from erpkit.durations import format_duration
from erpkit.models import Role
from erpkit.plugins import current_registry
from erpkit.problems import Problem, ValidationFailed
from erpkit.schemas import one_page
from erpkit.steps import OverdueCursor, overdue_page
from erpkit_approvals import pages, rules
from erpkit_approvals.api import OverdueQuery, RuleQuery
from erpkit_approvals.conditions import LIST_OPERATORS, OPERATORS
from erpkit_approvals.console_pages import next_url, page_args, read_page
from erpkit_approvals.missing_facts import missing_facts
from erpkit_approvals.models import ApprovalRequest, Rule, RuleVersion
from erpkit_approvals.schemas import BREACH_ACTIONS, GATES, WITHIN

CATEGORY = "Approvals"
TEMPLATES = Path(__file__).parent / "templates"
BLANK_CONDITIONS = 3
BLANK_STEPS = 2
STEP_FIELDS = ("name", "role", "users", "required", "time_limit", "breach_action", "escalate_to")


def templates_blueprint() -> Blueprint:
    """Serves no page: makes this package's console templates findable by name."""
    return Blueprint("approvals_console", __name__, template_folder=str(TEMPLATES))


def _rows(prefix: str, names: tuple[str, ...]) -> list[dict[str, str]]:
    """The numbered rows of a form (``steps-0-role``...), blank rows left out."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in request.form.items():
        head, _, rest = key.partition("-")
        index, _, name = rest.partition("-")
        if head == prefix and index.isdigit() and name in names:
            rows.setdefault(int(index), {})[name] = value.strip()
    return [rows[i] for i in sorted(rows) if any(rows[i].values())]


def definition_from_form() -> dict[str, Any]:
    """The submitted editor form as raw rule input for :class:`ApprovalRuleSchema`."""
    steps = []
    for row in _rows("steps", STEP_FIELDS):
        if not any(row.get(name) for name in ("name", "role", "users")):
            continue  # a blank row: its selects still send their first choice
        step: dict[str, Any] = {
            "name": row.get("name") or None, "role": row.get("role") or None,
            "users": [u.strip() for u in row.get("users", "").split(",") if u.strip()],
            "breach_action": row.get("breach_action") or "remind",
            "escalate_to": row.get("escalate_to") or None,
            "time_limit": row.get("time_limit") or None,
        }
        step["required"] = row.get("required") or "1"
        steps.append(step)
    kind, _, where = request.form.get("placement", "gate:submit").partition(":")
    return {
        "name": request.form.get("name", "").strip(),
        "gate": where if kind == "gate" else "submit",
        "within": where if kind == "within" else None,
        "active": request.form.get("active") == "on",
        "priority": request.form.get("priority", "100").strip() or "100",
        "match": request.form.get("match", "all"),
        "conditions": [{"fact": r.get("fact", ""), "operator": r.get("operator", ""),
                        "value": r.get("value", "")}
                       for r in _rows("conditions", ("fact", "operator", "value"))],
        "steps": steps,
    }


def placements() -> list[tuple[str, str]]:
    """Where a rule may hold, as the editor offers it: ``(value, label)``."""
    from erpkit.document_gates import gated_transitions

    found = [("gate:submit", "On submit (the order waits in pending_approval)")]
    found += [(f"gate:{gate}", f"Before {gate}") for gate in GATES if gate != "submit"]
    found += [(f"gate:{name}", f"Before {name}: {gate.description}")
              for name, gate in sorted(gated_transitions(current_registry()).items())]
    found += [(f"within:{status}", f"Steps within {status}") for status in WITHIN]
    return found


def placement_of(definition: dict[str, Any]) -> str:
    if definition.get("within"):
        return f"within:{definition['within']}"
    return f"gate:{definition.get('gate') or 'submit'}"


def _form_value(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def form_rows(definition: dict[str, Any]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A stored or submitted definition as editor rows, with blank rows to add more."""
    conditions = [{"fact": c.get("fact", ""), "operator": c.get("operator", ""),
                   "value": _form_value(c.get("value", ""))}
                  for c in definition.get("conditions", [])]
    steps = [{name: _form_value(s.get(name) if s.get(name) is not None else "")
              for name in STEP_FIELDS} for s in definition.get("steps", [])]
    conditions += [{"fact": "", "operator": "", "value": ""}] * BLANK_CONDITIONS
    steps += [dict.fromkeys(STEP_FIELDS, "")] * BLANK_STEPS
    return conditions, steps


class RulesView(BaseView):
    """Every rule; an editor whose each save is a new version; switch on/off; dry run."""

    editor_template = "approvals/rule_edit.html"

    def blank_definition(self) -> dict[str, Any]:
        """What the editor of a new rule starts from."""
        return {"active": True, "priority": 100}

    @expose("/")
    def index(self) -> Any:
        args = page_args(RuleQuery())
        page = one_page(read_page(lambda given: pages.rules_page(
            db.session, limit=given["limit"] + 1, after=given.get("after")), args),
            args["limit"], lambda rule: rule.id)
        found = page["items"]
        definitions = pages.current_definitions(db.session, found)
        declared = current_registry().facts
        return self.render("approvals/rules.html", rules=found, definitions=definitions,
                           missing={r.id: missing_facts(definitions[r.id], declared)
                                    for r in found}, next_url=next_url(page["next"]))

    @expose("/new", methods=("GET", "POST"))
    def new(self) -> Any:
        return self._editor(None)

    @expose("/<int:rule_id>/", methods=("GET", "POST"))
    def edit(self, rule_id: int) -> Any:
        return self._editor(rule_id)

    @expose("/<int:rule_id>/switch", methods=("POST",))
    def switch(self, rule_id: int) -> Any:
        rule = rules.get_rule(db.session, rule_id)
        rules.set_active(db.session, rule_id, not rule.active, actor=current_actor())
        db.session.commit()
        flash(f"Rule {rule.name!r} is now {'on' if rule.active else 'off'}.", "success")
        return redirect(url_for(".index"))

    def _editor(self, rule_id: int | None) -> Any:
        rule = rules.get_rule(db.session, rule_id) if rule_id is not None else None
        if request.method == "GET":
            definition = ({**rules.current_definition(rule), "active": rule.active}
                          if rule is not None else self.blank_definition())
            return self._render(rule, definition, [], None)
        raw = definition_from_form()
        try:
            if request.form.get("action") == "dry_run":
                data = rules.load_dry_run({**raw, "last": request.form.get("last") or 100})
                result = rules.dry_run(db.session, data, last=data["last"])
                db.session.rollback()
                return self._render(rule, raw, [], result)
            data = rules.load_definition(raw)
            if rule is None:
                rule = rules.create_rule(db.session, data, actor=current_actor())
            else:
                rules.update_rule(db.session, rule.id, data, actor=current_actor())
        except ValidationFailed as exc:
            db.session.rollback()
            return self._render(rule, raw, exc.problems, None), 422
        db.session.commit()
        flash(f"Saved rule {rule.name!r} (version {rule.current_version}).", "success")
        return redirect(url_for(".index"))

    def _render(self, rule: Rule | None, definition: dict[str, Any], problems: list[Problem],
                dry_run: Any) -> Any:
        conditions, steps = form_rows(definition)
        declared = current_registry().facts
        facts = sorted(declared.items())
        return self.render(
            self.editor_template, rule=rule, definition=definition,
            conditions=conditions, steps=steps, problems=problems, dry_run=dry_run,
            missing_facts=missing_facts(definition, declared),
            facts=[(name, fact) for name, (_owner, fact) in facts],
            operators=sorted({o for ops in OPERATORS.values() for o in ops}),
            list_operators=LIST_OPERATORS, breach_actions=BREACH_ACTIONS,
            placements=placements(), placement=placement_of(definition),
            roles=db.session.scalars(sa.select(Role.name).order_by(Role.name)).all(),
            versions=list(reversed(rule.versions)) if rule is not None else [])


class RuleVersionView(ModelView):
    """Every version of every rule, read-only: versions are immutable."""

    can_create = can_edit = can_delete = False
    can_view_details = True
    column_list = ("rule", "version", "created_at", "created_by")
    column_details_list = ("rule", "version", "created_at", "created_by", "definition")
    column_default_sort = ("id", True)


class RequestView(ModelView):
    """Approval requests, read-only: decisions go through the inbox and the API."""

    can_create = can_edit = can_delete = False
    can_view_details = True
    column_list = ("id", "order", "document_number", "gate", "status", "summary",
                   "submitted_by", "opened_at", "closed_at")
    column_labels = {"document_number": "Document"}
    column_filters = ("status", "opened_at")
    column_searchable_list = ("summary",)
    column_default_sort = ("id", True)
    column_details_list = ("id", "order", "document", "document_number", "gate", "status",
                           "summary", "submitted_by", "opened_at", "closed_at", "steps",
                           "matches")


class OverdueView(BaseView):
    """What is late now: by how much and who holds it."""

    @expose("/")
    def index(self) -> Any:
        now = utcnow()
        args = page_args(OverdueQuery())
        page = one_page(overdue_page(db.session, current_registry(), now,
                                     limit=args["limit"] + 1, after=args.get("after")),
                        args["limit"], lambda late: OverdueCursor.of(late))
        return self.render("approvals/overdue.html", now=now, late=page["items"],
                           format_duration=format_duration, next_url=next_url(page["next"]))


class FlowView(BaseView):
    """The order flow as a diagram: statuses, moves, and the gates of active rules."""

    @expose("/")
    def index(self) -> Any:
        from markupsafe import Markup

        from erpkit_approvals.flow import render_svg

        # render_svg escapes every name it writes: the SVG is safe to embed as it is.
        svg = Markup(render_svg(db.session, current_registry()))
        return self.render("approvals/flow.html", svg=svg)


def admin_views() -> list[AdminView]:
    from erpkit_approvals.admin_inbox import InboxView
    from erpkit_approvals.admin_status_steps import StatusStepsView, StepsToDoView

    return [
        AdminView(InboxView, "Inbox", "inbox", "approvals.decide", category=CATEGORY,
                  kwargs={"url": "approval-inbox"}),
        AdminView(RulesView, "Rules", "rules", "approvals.rules", category=CATEGORY,
                  kwargs={"url": "approval-rules"}),
        AdminView(StepsToDoView, "Steps to do", "steps_to_do", "orders.view",
                  category=CATEGORY, kwargs={"url": "approval-steps-to-do"}),
        AdminView(StatusStepsView, "Steps in a status", "status_steps", "approvals.rules",
                  category=CATEGORY, kwargs={"url": "approval-status-steps"}),
        AdminView(RuleVersionView, "Rule versions", "rule_versions", "approvals.rules",
                  model=RuleVersion, category=CATEGORY, kwargs={"url": "approval-rule-versions"}),
        AdminView(RequestView, "Requests", "requests", "orders.view", model=ApprovalRequest,
                  category=CATEGORY, kwargs={"url": "approval-requests"}),
        AdminView(FlowView, "Flow", "flow", "approvals.rules", category=CATEGORY,
                  kwargs={"url": "approval-flow"}),
        AdminView(OverdueView, "Overdue", "overdue", "approvals.overdue", category=CATEGORY,
                  kwargs={"url": "overdue"}),
    ]


"""What a rule definition may contain, checked when it is saved (or dry-run).

:class:`ApprovalRuleSchema` loads a definition into its canonical, storable form: condition
values typed by their fact and written back as exact JSON (decimals as strings), time
limits as compact text (``4h``). Every problem is reported with its path
(``conditions.0.value``), the way the API and the console show it. Facts come from the
running app's registry, roles and users from its database, so load inside an app context.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from erpkit.db import db
from erpkit.durations import Duration, format_duration
from erpkit.models import Role, User
from erpkit.plugins import current_registry
from erpkit.schemas import StrictDecimal
from erpkit_approvals.conditions import OPERATORS, BadValue, parse_value, to_json

BREACH_ACTIONS = ("remind", "escalate", "approve", "reject")
#: The transitions a rule may guard: submit (the order waits in pending_approval) and the
#: orders module's gated moves (erpkit_orders.lifecycle.GATES).
GATES = ("submit", "confirm", "ship", "deliver", "cancel", "return", "reopen")
#: The statuses a rule may add steps within (an order stays there while people work).
WITHIN = ("approved", "confirmed", "partially_shipped", "shipped", "delivered")
#: A threshold of a decimal fact (an amount, a quantity, a percentage) is read as strictly
#: as any decimal of the API: ASCII digits, no float, no exponent, at most four decimals
#: (money has two, quantities three, percentages four) and 14 digits before the point.
THRESHOLD = StrictDecimal(4)


def _known_gate(gate: str) -> None:
    """A sales order's gate, or one a plugin declares (``erpkit_gated_transitions``)."""
    from erpkit.document_gates import gated_transitions

    known = [*GATES, *sorted(gated_transitions(current_registry()))]
    if gate not in known:
        raise ValidationError(f"Must be one of: {', '.join(known)}.")


def _role(name: str) -> Role | None:
    return db.session.scalar(sa.select(Role).where(Role.name == name))


def _active_logins(logins: list[str]) -> set[str]:
    if not logins:
        return set()
    return set(db.session.scalars(sa.select(User.login).where(
        User.login.in_(logins), User.active.is_(True))))


def _role_members(role: str) -> set[str]:
    return set(db.session.scalars(sa.select(User.login).where(
        User.active.is_(True), User.roles.any(Role.name == role))))


class RuleConditionSchema(Schema):
    fact = fields.String(required=True, metadata={"description": "A declared fact name."})
    operator = fields.String(required=True, metadata={
        "description": "decimal/integer: > >= < <= = !=; string: = != in not_in contains; "
                       "string_list: contains any_of none_of; boolean: is."})
    value = fields.Raw(required=True, metadata={
        "description": "Data of the fact's type (a list for in, not_in, any_of, none_of)."})

    @validates_schema
    def _typed(self, data: dict[str, Any], **_kw: Any) -> None:
        facts = current_registry().facts
        if data["fact"] not in facts:
            raise ValidationError(
                f"unknown fact {data['fact']!r}; known facts: {', '.join(sorted(facts))}",
                "fact")
        fact = facts[data["fact"]][1]
        if fact.type == "decimal":
            try:
                THRESHOLD.deserialize(data["value"])
            except ValidationError as exc:
                raise ValidationError(f"{exc.messages[0]} ({fact.name} is a decimal fact)",
                                      "value") from None
        allowed = OPERATORS[fact.type]
        if data["operator"] not in allowed:
            raise ValidationError(
                f"operator {data['operator']!r} does not fit {fact.type} fact {fact.name}; "
                f"use one of: {' '.join(allowed)}", "operator")
        try:
            parse_value(fact, data["operator"], data["value"])
        except BadValue as exc:
            raise ValidationError(f"{exc} ({fact.name} is a {fact.type} fact)", "value") from None

    @post_load
    def _canonical(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        fact = current_registry().facts[data["fact"]][1]
        data["value"] = to_json(parse_value(fact, data["operator"], data["value"]))
        return data


class ApprovalStepSchema(Schema):
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    role = fields.String(load_default=None, allow_none=True,
                         metadata={"description": "The role whose members may approve."})
    users = fields.List(fields.String(), load_default=list,
                        metadata={"description": "Logins who may approve (besides the role)."})
    required = fields.Integer(load_default=1, validate=validate.Range(min=1, max=50),
                              metadata={"description": "N: distinct approvals needed."})
    time_limit = Duration(load_default=None, allow_none=True, metadata={
        "description": "How long the step may take (default: approvals.step_time_limit)."})
    breach_action = fields.String(load_default="remind", validate=validate.OneOf(BREACH_ACTIONS))
    escalate_to = fields.String(load_default=None, allow_none=True,
                                metadata={"description": "The role to escalate to."})

    @validates_schema
    def _people(self, data: dict[str, Any], **_kw: Any) -> None:
        role, users = data.get("role"), list(dict.fromkeys(data.get("users") or []))
        if not role and not users:
            raise ValidationError("name a role or users who may approve", "role")
        if role and _role(role) is None:
            raise ValidationError(f"unknown role {role!r}", "role")
        unknown = sorted(set(users) - _active_logins(users))
        if unknown:
            raise ValidationError(f"unknown or inactive users: {', '.join(unknown)}", "users")
        if data.get("breach_action") == "escalate":
            if not data.get("escalate_to"):
                raise ValidationError("say which role to escalate to", "escalate_to")
            if _role(data["escalate_to"]) is None:
                raise ValidationError(f"unknown role {data['escalate_to']!r}", "escalate_to")
        eligible = set(users) | (_role_members(role) if role else set())
        if data["required"] > len(eligible):
            raise ValidationError(
                f"needs {data['required']} distinct approvals but only {len(eligible)} "
                f"people may approve ({', '.join(sorted(eligible)) or 'nobody'})", "required")

    @post_load
    def _canonical(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        data["users"] = list(dict.fromkeys(data.get("users") or []))
        if data.get("time_limit") is not None:
            data["time_limit"] = format_duration(data["time_limit"])
        if data.get("breach_action") != "escalate":
            data["escalate_to"] = None
        return data


class ApprovalRuleSchema(Schema):
    """A rule as admins write it; ``active`` is the rule's switch, the rest is versioned."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    active = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "The rule's switch; new rules are on, an edit leaves it as it was "
                       "unless given."})
    priority = fields.Integer(load_default=100, validate=validate.Range(min=0, max=10000),
                              metadata={"description": "Lower numbers first."})
    gate = fields.String(load_default="submit", validate=lambda gate: _known_gate(gate),
                         metadata={"description": "The transition the rule guards: submit "
                                   "(default), before confirm, ship, deliver, cancel, "
                                   "return, reopen, or a plugin's (purchasing.approve)."})
    within = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(WITHIN),
                           metadata={"description": "Instead of a gate: the status whose "
                                     "steps (picked, packed...) orders pass while in it; "
                                     "moving on waits until they are done."})
    match = fields.String(load_default="all", validate=validate.OneOf(("all", "any")))
    conditions = fields.List(fields.Nested(RuleConditionSchema), load_default=list)
    steps = fields.List(fields.Nested(ApprovalStepSchema), required=True, validate=validate.Length(
        min=1, error="a rule needs at least one approval step"))

    @validates_schema
    def _steps_within(self, data: dict[str, Any], **_kw: Any) -> None:
        if not data.get("within"):
            return
        if data.get("gate", "submit") != "submit":
            raise ValidationError("a rule guards a gate or adds steps within a status, "
                                  "not both", "within")
        problems: dict[str, Any] = {}
        names: set[str] = set()
        for index, step in enumerate(data.get("steps") or []):
            if not step.get("name"):
                problems[f"{index}.name"] = ["name the step (picked, packed...)"]
            elif step["name"] in names:
                problems[f"{index}.name"] = [f"two steps are named {step['name']!r}"]
            names.add(step.get("name") or "")
            if not step.get("role") or step.get("users"):
                problems[f"{index}.role"] = ["a step within a status is done by a role"]
            if step.get("breach_action") not in ("remind", "escalate"):
                problems[f"{index}.breach_action"] = [
                    "a step within a status reminds or escalates when late"]
        if problems:
            raise ValidationError({"steps": problems})


class RuleDryRunSchema(ApprovalRuleSchema):
    """A rule definition to try on past orders, plus how many of them. Only the
    conditions matter: name and steps may be left out."""

    name = fields.String(load_default="(dry run)", validate=validate.Length(max=120))
    steps = fields.List(fields.Nested(ApprovalStepSchema), load_default=list)
    last = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000),
                          metadata={"description": "How many recent orders to look at."})

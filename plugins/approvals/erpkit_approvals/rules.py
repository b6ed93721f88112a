"""Saving rules: every edit is a new immutable version, every change is audited.

Definitions reaching these functions were loaded by :class:`~erpkit_approvals.schemas.
ApprovalRuleSchema` (typed, canonical). The caller commits. Orders already waiting keep the
steps of the version they matched; the next order is evaluated against the current
version, with no restart, because rules are read from the database on every submit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import ValidationFailed
from erpkit import setup_cache as shared
from erpkit.models import audit
from erpkit.plugins import Registry, registry_of
from erpkit.problems import Problem, load
from erpkit_approvals.errors import NotFound
from erpkit_approvals.models import RULES, Rule, RuleVersion
from erpkit_approvals.schemas import ApprovalRuleSchema, RuleDryRunSchema

AUDIT_ENTITY = "approval_rule"
#: The active rules are set-up every submit reads: kept by the process while no rule or
#: version changes (:mod:`erpkit.setup_cache`), as plain values.


@dataclass(frozen=True)
class ActiveRule:
    """An active rule, as evaluation needs it."""

    id: int
    name: str
    priority: int


@dataclass(frozen=True)
class ActiveVersion:
    """The current version of an active rule (``definition`` is shared: never change it)."""

    id: int
    version: int
    definition: Mapping[str, Any]
#: The parts of a definition that are versioned (``active`` is the rule's switch).
VERSIONED = ("name", "priority", "gate", "within", "match", "conditions", "steps")


def definition_of(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in VERSIONED if key in data}


def gate_of(definition: Mapping[str, Any]) -> str:
    """The transition a definition guards (versions saved before gates guard submit), or
    ``within:<status>`` for a rule adding steps within a status."""
    if definition.get("within"):
        return f"within:{definition['within']}"
    return str(definition.get("gate") or "submit")


def load_definition(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check raw input (a form, a file) with :class:`ApprovalRuleSchema`; raise
    :class:`ValidationFailed` naming each problem."""
    return dict(load(ApprovalRuleSchema(), dict(raw)))


def load_dry_run(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check a definition to try on past orders (name and steps may be left out)."""
    return dict(load(RuleDryRunSchema(), dict(raw)))


def check_facts_fit_gate(definition: Mapping[str, Any], registry: Registry) -> None:
    """Refuse a condition on a fact that what the gate holds does not have: a plugin
    document's gate tests only the facts its declaration names, an order's rule none of
    them (a purchase order has no ``orders.total``, a sales order no
    ``purchasing.total``)."""
    from erpkit.document_gates import gated_transitions

    documents = gated_transitions(registry)
    gate = documents.get(str(definition.get("gate") or "submit"))
    document_facts = {name for declared in documents.values() for name in declared.facts}
    problems = []
    for index, condition in enumerate(definition.get("conditions") or []):
        fact = condition["fact"]
        if gate is not None and fact not in gate.facts:
            problems.append(Problem(
                field=f"conditions.{index}.fact", code="wrong_document",
                message=f"the gate {gate.name} holds a {gate.document.replace('_', ' ')}, "
                        f"which has no fact {fact!r}; it has: {', '.join(gate.facts)}"))
        elif gate is None and fact in document_facts:
            problems.append(Problem(
                field=f"conditions.{index}.fact", code="wrong_document",
                message=f"{fact!r} is a fact of another document, not of a sales order: "
                        "use it on that document's gate"))
    if problems:
        raise ValidationFailed(problems)


def snapshot(rule: Rule) -> dict[str, Any]:
    """What the audit log records of a rule: its switch, version and definition."""
    return {"name": rule.name, "active": rule.active, "priority": rule.priority,
            "version": rule.current_version, "definition": current_definition(rule)}


def current_version(rule: Rule) -> RuleVersion:
    return next(v for v in rule.versions if v.version == rule.current_version)


def current_definition(rule: Rule) -> dict[str, Any]:
    return dict(current_version(rule).definition)


def get_rule(session: Session, rule_id: int) -> Rule:
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"no approval rule {rule_id}", field="rule", code="not_found")
    return rule


def _check_name_free(session: Session, name: str, rule_id: int | None = None) -> None:
    query = sa.select(Rule.id).where(Rule.name == name)
    if rule_id is not None:
        query = query.where(Rule.id != rule_id)
    if session.scalar(query) is not None:
        raise ValidationFailed.single("name", f"a rule named {name!r} exists already",
                                      code="duplicate")


def create_rule(session: Session, data: Mapping[str, Any], *, actor: str | None) -> Rule:
    """A new rule at version 1."""
    definition = definition_of(data)
    check_facts_fit_gate(definition, registry_of(session))
    _check_name_free(session, definition["name"])
    rule = Rule(name=definition["name"], priority=definition["priority"],
                active=data.get("active") is not False, current_version=1)
    rule.versions.append(RuleVersion(version=1, definition=definition, created_by=actor))
    session.add(rule)
    session.flush()
    audit(session, actor=actor, entity=AUDIT_ENTITY, entity_id=str(rule.id), action="create",
          after=snapshot(rule))
    return rule


def update_rule(session: Session, rule_id: int, data: Mapping[str, Any], *,
                actor: str | None) -> Rule:
    """Save an edit: a new version when the definition changed; ``active`` if given."""
    rule = get_rule(session, rule_id)
    before = snapshot(rule)
    definition = definition_of(data)
    check_facts_fit_gate(definition, registry_of(session))
    _check_name_free(session, definition["name"], rule.id)
    defaults = {"gate": "submit", "within": None}
    if {**defaults, **definition} != {**defaults, **current_definition(rule)}:
        rule.current_version += 1
        rule.versions.append(RuleVersion(version=rule.current_version, definition=definition,
                                         created_by=actor))
        rule.name, rule.priority = definition["name"], definition["priority"]
    if data.get("active") is not None:
        rule.active = bool(data["active"])
    session.flush()
    after = snapshot(rule)
    if after != before:
        audit(session, actor=actor, entity=AUDIT_ENTITY, entity_id=str(rule.id),
              action="update", before=before, after=after)
    return rule


def set_active(session: Session, rule_id: int, active: bool, *, actor: str | None) -> Rule:
    """Switch a rule on or off. Orders already waiting on it keep their steps and can
    still be approved or rejected: switching off only stops it holding new orders."""
    rule = get_rule(session, rule_id)
    if rule.active != active:
        before = snapshot(rule)
        rule.active = active
        session.flush()
        audit(session, actor=actor, entity=AUDIT_ENTITY, entity_id=str(rule.id),
              action="activate" if active else "deactivate", before=before,
              after=snapshot(rule))
    return rule


def active_versions(session: Session, gate: str | None = "submit",
                    ) -> list[tuple[ActiveRule, ActiveVersion]]:
    """The current version of every active rule guarding ``gate`` (every gate when
    ``None``), lowest priority number first. A rule being changed in this session is
    flushed first and read as changed."""
    return [(rule, version) for rule, version in shared.cached(session, RULES, "active",
                                                                lambda: _active(session))
            if gate is None or gate_of(version.definition) == gate]


def _active(session: Session) -> tuple[tuple[ActiveRule, ActiveVersion], ...]:
    return tuple(
        (ActiveRule(rule.id, rule.name, rule.priority),
         ActiveVersion(version.id, version.version, version.definition))
        for rule, version in session.execute(
            sa.select(Rule, RuleVersion)
            .join(RuleVersion, sa.and_(RuleVersion.rule_id == Rule.id,
                                       RuleVersion.version == Rule.current_version))
            .where(Rule.active.is_(True))
            .order_by(Rule.priority, Rule.id)))


def dry_run(session: Session, data: Mapping[str, Any], *, last: int = 100,
            examples: int = 5, registry: Registry | None = None) -> Any:
    """How this unsaved rule would have treated recent orders: see
    :func:`erpkit_approvals.dry_run.dry_run` (which, where, and for how long)."""
    from erpkit_approvals import dry_run as dry_runs

    return dry_runs.dry_run(session, data, last=last, examples=examples, registry=registry)

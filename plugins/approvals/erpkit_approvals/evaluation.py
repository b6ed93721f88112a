"""Deciding on submit whether an order waits, and for whom.

The facts of every installed plugin are computed, each active rule's current version is
tested against them, and one approval request is opened with the steps of every rule
that matched, in priority order. The request records which rule version matched and the
fact values that made it match. Steps run one after another: the first starts now, each
next one when the previous completes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.durations import parse_duration
from erpkit.facts import FactDefinition, checked_order_facts
from erpkit.plugins import Registry, registry_of
from erpkit.transitions import Transition
from erpkit_approvals.conditions import evaluate
from erpkit_approvals.models import ApprovalRequest, RuleMatch, Step
from erpkit_approvals.rules import active_versions

OPEN = "open"


def declared_facts(registry: Registry) -> dict[str, FactDefinition]:
    return {name: definition for name, (_owner, definition) in registry.facts.items()}


def order_facts(session: Session, order: Any,
                registry: Registry | None = None) -> dict[str, Any]:
    """Every enabled plugin's facts about ``order`` (hook ``erpkit_order_facts``), each
    checked against its declaration."""
    return checked_order_facts(registry or registry_of(session), order, session)


def evaluate_order(session: Session, order: Any, definition: Mapping[str, Any],
                   facts: Mapping[str, Any] | None = None,
                   registry: Registry | None = None) -> tuple[bool, str, dict[str, Any]]:
    """Whether ``definition`` matches ``order``: ``(matched, why, fact values tested)``."""
    registry = registry or registry_of(session)
    if facts is None:
        facts = order_facts(session, order, registry)
    return evaluate(definition, facts, declared_facts(registry))


def open_requests(session: Session, order_id: int) -> list[ApprovalRequest]:
    return list(session.scalars(sa.select(ApprovalRequest).where(
        ApprovalRequest.order_id == order_id, ApprovalRequest.status == OPEN)
        .order_by(ApprovalRequest.id)))


def close_request(request: ApprovalRequest, status: str) -> None:
    """End a request (``approved``, ``rejected``, ``superseded``, ``cancelled``); steps
    not decided yet are closed with it, so no inbox or sweep sees them again."""
    now = utcnow()
    request.status = status
    request.closed_at = now
    for step in request.steps:
        if step.status in ("waiting", "active"):
            step.status = "closed"
            step.completed_at = now


def supersede_open_requests(transition: Transition, order: Any) -> list[ApprovalRequest]:
    """Close the requests an order waited on before it changed; it is evaluated anew."""
    superseded = open_requests(transition.session, order.id)
    for request in superseded:
        close_request(request, "superseded")
        transition.note(f"approval request {request.id} superseded: the order changed")
    return superseded


def step_time_limit(session: Session, step: Mapping[str, Any],
                    registry: Registry | None = None) -> timedelta:
    if step.get("time_limit"):
        return parse_duration(step["time_limit"])
    limit: timedelta = (registry or registry_of(session)).parameters.get(
        session, "approvals.step_time_limit")
    return limit


def start_step(step: Step) -> None:
    """Start a step's clock now."""
    now = utcnow()
    step.status = "active"
    step.started_at = now
    step.due_at = now + step.time_limit


def open_request(transition: Transition, order: Any) -> ApprovalRequest | None:
    """Evaluate the active submit rules for ``order``; open a request when any matches."""
    plan = plan_request(transition, order, "submit")
    if plan is None:
        return None
    return build_request(transition.session, order.id, plan,
                         submitted_by=order.submitted_by)


def plan_request(transition: Transition, order: Any, gate: str) -> dict[str, Any] | None:
    """What a request for ``gate`` would hold, as plain data: the rule versions that match
    ``order`` (why, with the facts tested) and their steps. ``None`` when none matches.

    Plain data, because a held move's attempt rolls back before the request is written.
    """
    session, registry = transition.session, transition.registry
    versions = active_versions(session, gate)
    # Submit checks every plugin's facts even when no rule reads them (a fact of the wrong
    # type fails the submit); a gated move with no rule computes none.
    if not versions and gate != "submit":
        return None
    return plan_from_facts(session, registry, gate, versions,
                           order_facts(session, order, registry))


def plan_from_facts(session: Session, registry: Registry, gate: str,
                    versions: list[tuple[Any, Any]],
                    facts: Mapping[str, Any]) -> dict[str, Any] | None:
    """The plan of a request for ``gate`` from the rule ``versions`` guarding it and the
    facts of what it holds (an order, or a plugin's document)."""
    declared = declared_facts(registry)
    matches: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for rule, version in versions:
        matched, why, tested = evaluate(version.definition, facts, declared)
        if not matched:
            continue
        matches.append({"rule_id": rule.id, "rule_version_id": version.id,
                        "rule_name": rule.name, "version": version.version,
                        "facts": tested, "why": why})
        rule_steps = version.definition["steps"]
        for index, data in enumerate(rule_steps, start=1):
            steps.append({
                "rule_id": rule.id, "rule_version_id": version.id,
                "rule_version": version.version,
                "name": data.get("name") or (rule.name if len(rule_steps) == 1
                                             else f"{rule.name}, step {index}"),
                "role": data.get("role"), "users": list(data.get("users") or []),
                "required": int(data.get("required", 1)),
                "time_limit_seconds": int(step_time_limit(session, data,
                                                          registry).total_seconds()),
                "breach_action": data.get("breach_action", "remind"),
                "escalate_to": data.get("escalate_to")})
    if not matches:
        return None
    summary = "; ".join(f"{m['rule_name']} (v{m['version']}): {m['why']}" for m in matches)
    if gate != "submit":
        summary = f"before {gate}: {summary}"
    return {"gate": gate, "summary": summary, "matches": matches, "steps": steps}


def build_request(session: Session, order_id: int | None, plan: dict[str, Any], *,
                  submitted_by: str | None, from_status: str | None = None,
                  to_status: str | None = None,
                  resume: dict[str, Any] | None = None,
                  document: Mapping[str, Any] | None = None) -> ApprovalRequest:
    """Write the request ``plan`` describes, its first step started. ``document``: the
    plugin document it holds instead of an order (``document``, ``document_id``,
    ``document_number``)."""
    request = ApprovalRequest(order_id=order_id, submitted_by=submitted_by, status=OPEN,
                              gate=plan["gate"], summary=plan["summary"],
                              from_status=from_status, to_status=to_status, resume=resume,
                              **dict(document or {}))
    request.matches.extend(RuleMatch(**match) for match in plan["matches"])
    request.steps.extend(Step(position=position, status="waiting", **step)
                         for position, step in enumerate(plan["steps"], start=1))
    start_step(request.steps[0])
    session.add(request)
    session.flush()
    return request

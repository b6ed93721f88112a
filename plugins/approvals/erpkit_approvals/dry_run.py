"""Dry runs: how an unsaved rule would have treated the last orders (or a plugin's last
documents): which it would have held, where, and for how long.

*Where* is the status the order would have waited in: ``pending_approval`` for submit,
the status it left by the guarded move for a gate (read from its timeline: ``confirmed``
for a shipment), the status itself for steps within one. An order that never made the
guarded move is listed with ``reached: false``: the rule matches it, but it was never
asked.

*How long* is an estimate, and each example says which one (``basis``):

* ``measured``: the order really waited at this gate (or did these steps) under the
  rules of the time; the wait is how long that took (request opened to closed, steps
  started to the last one done).
* ``time_limits``: otherwise, the sum of the rule's steps' time limits (steps are asked
  one after another, and a step is decided, escalated or reminded about when its limit
  runs out), ``approvals.step_time_limit`` for a step naming none. It is the wait at
  which the rule's own breach actions start, not a measurement.

Beside it, ``in_status`` is how long the order actually stayed in the status it would
have waited in, so admins see what the hold adds to what already happens. Facts are
computed as the orders stand now. Nothing is written.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.document_gates import GatedTransition, document_facts, gated_transitions
from erpkit.durations import format_duration
from erpkit.plugins import Registry, registry_of
from erpkit_approvals.conditions import evaluate
from erpkit_approvals.evaluation import declared_facts, evaluate_order, step_time_limit
from erpkit_approvals.models import ApprovalRequest, OrderStep
from erpkit_approvals.rules import check_facts_fit_gate, definition_of, gate_of
from erpkit_orders.lifecycle import GATES
from erpkit_orders.models import Order, TimelineEvent

#: The status a gate's move leads to (``ship`` -> ``shipped``).
TARGET_OF_GATE = {gate: str(status) for status, gate in GATES.items()}


@dataclass
class DryRun:
    """How a rule would have treated recent orders."""

    examined: int
    matched: int
    examples: list[dict[str, Any]] = field(default_factory=list)
    #: How many matched orders would have waited in each status (those that got there).
    held_at: dict[str, int] = field(default_factory=dict)
    #: The steps' time limits added up: the estimate where nothing was measured.
    time_limits: str = ""


def steps_limit(session: Session, definition: Mapping[str, Any],
                registry: Registry) -> timedelta:
    """The rule's steps' time limits added up (the default limit for a rule with none)."""
    steps = list(definition.get("steps") or []) or [{}]
    return sum((step_time_limit(session, step, registry) for step in steps), timedelta())


def dry_run(session: Session, data: Mapping[str, Any], *, last: int = 100,
            examples: int = 5, registry: Registry | None = None) -> DryRun:
    """Of the last ``last`` orders that were submitted (drafts never were), or documents
    of a plugin's gate, how many this unsaved rule would have held, with up to
    ``examples`` of them: where each would have waited and for about how long."""
    registry = registry or registry_of(session)
    definition = definition_of(data)
    check_facts_fit_gate(definition, registry)
    gate = gate_of(definition)
    limit = steps_limit(session, definition, registry)
    document_gate = gated_transitions(registry).get(gate)
    if document_gate is not None:
        return _dry_run_documents(session, registry, document_gate, definition, last,
                                  examples, limit)
    submitted = sa.select(TimelineEvent.id).where(TimelineEvent.order_id == Order.id,
                                                  TimelineEvent.to_status == "submitted")
    orders = list(session.scalars(
        sa.select(Order).where(submitted.exists()).order_by(Order.id.desc()).limit(last)))
    moves = _status_moves(session, [o.id for o in orders])
    measured = _measured_waits(session, [o.id for o in orders], gate)
    now = utcnow()
    result = DryRun(examined=len(orders), matched=0, time_limits=format_duration(limit))
    held_at: Counter[str] = Counter()
    where = (f"within {gate.split(':', 1)[1]}" if gate.startswith("within:")
             else f"before {gate}")
    for order in orders:
        matched, why, _facts = evaluate_order(session, order, definition, registry=registry)
        if not matched:
            continue
        result.matched += 1
        waits_in, reached, in_status = _where_held(gate, order, moves[order.id], now)
        if reached and waits_in:
            held_at[waits_in] += 1
        if len(result.examples) < examples:
            wait = measured.get(order.id)
            result.examples.append({
                "order_id": order.id, "number": order.number, "why": why, "held": where,
                "waits_in": waits_in, "reached": reached,
                "in_status": format_duration(in_status) if in_status is not None else None,
                **_estimate(wait, limit)})
    result.held_at = dict(held_at)
    return result


def _estimate(measured: timedelta | None, limit: timedelta) -> dict[str, Any]:
    held_for = measured if measured is not None else limit
    return {"held_for": format_duration(held_for),
            "held_for_seconds": int(held_for.total_seconds()),
            "basis": "measured" if measured is not None else "time_limits"}


def _status_moves(session: Session,
                  order_ids: list[int]) -> dict[int, list[tuple[datetime, str | None, str]]]:
    """Each order's status moves, oldest first: ``(at, from, to)`` (one query)."""
    found: dict[int, list[tuple[datetime, str | None, str]]] = defaultdict(list)
    if not order_ids:
        return found
    for order_id, at, source, target in session.execute(
            sa.select(TimelineEvent.order_id, TimelineEvent.at, TimelineEvent.from_status,
                      TimelineEvent.to_status)
            .where(TimelineEvent.order_id.in_(order_ids), TimelineEvent.to_status.is_not(None))
            .order_by(TimelineEvent.at, TimelineEvent.id)):
        found[order_id].append((at, source, str(target)))
    return found


def _where_held(gate: str, order: Order, moves: list[tuple[datetime, str | None, str]],
                now: datetime) -> tuple[str | None, bool, timedelta | None]:
    """``(status it would wait in, whether it got there, how long it stayed there)``."""
    if gate == "submit":
        status = "pending_approval"
        entered = next((at for at, _s, target in moves if target == "submitted"), None)
        return status, entered is not None, _stay(moves, "submitted", now)
    if gate.startswith("within:"):
        status = gate.split(":", 1)[1]
        return status, any(t == status for _a, _s, t in moves), _stay(moves, status, now)
    target = TARGET_OF_GATE.get(gate)
    move = next(((at, source) for at, source, t in moves if t == target and source), None)
    if move is None:  # never asked: it would wait where it is if the move were asked now
        return order.status, False, None
    return move[1], True, _stay(moves, str(move[1]), now)


def _stay(moves: list[tuple[datetime, str | None, str]], status: str,
          now: datetime) -> timedelta | None:
    """How long the order stayed in ``status`` the first time (until now if still)."""
    entered = next((i for i, (_a, _s, t) in enumerate(moves) if t == status), None)
    if entered is None:
        return None
    left = next((at for at, source, _t in moves[entered + 1:] if source == status), now)
    return left - moves[entered][0]


def _measured_waits(session: Session, order_ids: list[int], gate: str,
                    document: str | None = None) -> dict[int, timedelta]:
    """How long each order (or document) really waited at ``gate`` the last time."""
    if not order_ids:
        return {}
    if gate.startswith("within:"):
        status = gate.split(":", 1)[1]
        rows = session.execute(
            sa.select(OrderStep.order_id, sa.func.min(OrderStep.started_at),
                      sa.func.max(OrderStep.done_at))
            .where(OrderStep.order_id.in_(order_ids), OrderStep.status == status,
                   OrderStep.state == "done")
            .group_by(OrderStep.order_id))
        return {order_id: done - started for order_id, started, done in rows if done}
    subject = (ApprovalRequest.order_id if document is None
               else ApprovalRequest.document_id)
    query = (sa.select(subject, ApprovalRequest.opened_at, ApprovalRequest.closed_at)
             .where(subject.in_(order_ids), ApprovalRequest.gate == gate,
                    ApprovalRequest.status.in_(("approved", "rejected")),
                    ApprovalRequest.closed_at.is_not(None))
             .order_by(ApprovalRequest.id))
    if document is not None:
        query = query.where(ApprovalRequest.document == document)
    return {int(subject_id): closed - opened
            for subject_id, opened, closed in session.execute(query)
            if subject_id is not None and closed is not None}


def _dry_run_documents(session: Session, registry: Registry, gate: GatedTransition,
                       definition: Mapping[str, Any], last: int, examples: int,
                       limit: timedelta) -> DryRun:
    documents = gate.recent(session, last) if gate.recent is not None else []
    measured = _measured_waits(session, [d.id for d in documents], gate.name, gate.document)
    declared = declared_facts(registry)
    result = DryRun(examined=len(documents), matched=0, time_limits=format_duration(limit))
    for document in documents:
        matched, why, _tested = evaluate(
            definition, document_facts(registry, session, gate, document), declared)
        if not matched:
            continue
        result.matched += 1
        if len(result.examples) < examples:
            result.examples.append({
                "document": gate.document, "document_id": document.id,
                "number": document.number, "why": why, "held": f"before {gate.name}",
                "waits_in": gate.waits_in, "reached": True, "in_status": None,
                **_estimate(measured.get(document.id), limit)})
    result.held_at = {gate.waits_in: result.matched} if result.matched else {}
    return result

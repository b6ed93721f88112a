"""The pages of the approvals' listings (rules, a rule's versions, requests).

Each reads one keyset page in an index-backed order and asks for what it is told
(``limit``; ask for one more row than a page shows to know whether another follows,
:func:`erpkit.schemas.one_page`), so the work of a request stays bounded however many
rules, versions or requests there are. A cursor the listing cannot place is refused
(a 422 naming ``after``), never a 500.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import ValidationFailed
from erpkit_approvals.models import ApprovalRequest, Rule, RuleVersion


def rules_page(session: Session, *, limit: int, after: int | None = None) -> list[Rule]:
    """At most ``limit`` rules, lowest priority number first, then by id (the index
    ``ix_approvals_rule_priority``), after the rule whose id is ``after``."""
    query = sa.select(Rule).order_by(Rule.priority, Rule.id).limit(limit)
    if after is not None:
        priority = session.scalar(sa.select(Rule.priority).where(Rule.id == after))
        if priority is None:
            raise ValidationFailed.single(
                "after", f"no approval rule {after} to continue after. Fix: pass back the "
                "`next` of a page, or leave `after` out to start again", code="unknown_cursor")
        query = query.where(sa.or_(Rule.priority > priority,
                                   sa.and_(Rule.priority == priority, Rule.id > after)))
    return list(session.scalars(query))


def current_definitions(session: Session, rules: list[Rule]) -> dict[int, dict[str, Any]]:
    """The current definition of each of ``rules``, by rule id, in one query: a rule's
    older versions (as many as it had edits) are not read."""
    if not rules:
        return {}
    rows = session.execute(sa.select(RuleVersion.rule_id, RuleVersion.definition).where(
        sa.tuple_(RuleVersion.rule_id, RuleVersion.version).in_(
            [(rule.id, rule.current_version) for rule in rules])))
    return {rule_id: dict(definition) for rule_id, definition in rows}


def versions_page(session: Session, rule_id: int, *, limit: int,
                  after: int | None = None) -> list[RuleVersion]:
    """At most ``limit`` versions of a rule, oldest first (its unique ``(rule_id,
    version)``), after version number ``after``."""
    query = (sa.select(RuleVersion).where(RuleVersion.rule_id == rule_id)
             .order_by(RuleVersion.version).limit(limit))
    if after is not None:
        query = query.where(RuleVersion.version > after)
    return list(session.scalars(query))


def requests_page(session: Session, *, limit: int, before: int | None = None,
                  order_id: int | None = None, document: str | None = None,
                  document_id: int | None = None,
                  status: str | None = None) -> list[ApprovalRequest]:
    """At most ``limit`` approval requests, newest first (by id), older than the request
    ``before``; filtered by order, document or status (indexes ``(order_id, status)``
    and ``(document, document_id, status)``)."""
    query = sa.select(ApprovalRequest).order_by(ApprovalRequest.id.desc()).limit(limit)
    if before is not None:
        query = query.where(ApprovalRequest.id < before)
    if order_id is not None:
        query = query.where(ApprovalRequest.order_id == order_id)
    if document:
        query = query.where(ApprovalRequest.document == document)
    if document_id is not None:
        query = query.where(ApprovalRequest.document_id == document_id)
    if status:
        query = query.where(ApprovalRequest.status == status)
    return list(session.scalars(query))

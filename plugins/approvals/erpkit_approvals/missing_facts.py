"""Rules on facts that disappeared: which rules test a fact no enabled plugin declares.

A plugin that declared a fact can be disabled, uninstalled or downgraded while rules
still test its fact. Such a rule is flagged wherever rules are shown (the console's list
and editor, the rules API, ``erpkit plugins list``, the prompt of ``erpkit db downgrade``),
and it fails closed: its condition on the missing fact holds, so the order it would have
tested waits for a person instead of passing unseen (see :func:`conditions.evaluate`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_approvals.models import Rule
from erpkit_approvals.rules import current_definition


def facts_tested(definition: Mapping[str, Any]) -> list[str]:
    """The fact names a rule definition's conditions test, each once, in order."""
    return list(dict.fromkeys(c["fact"] for c in definition.get("conditions", [])))


def missing_facts(definition: Mapping[str, Any], declared: Iterable[str]) -> list[str]:
    """The facts ``definition`` tests that are not among the ``declared`` ones."""
    known = set(declared)
    return [name for name in facts_tested(definition) if name not in known]


def describe(rule: Rule) -> str:
    """``approval rule 'Large orders' (v2, on)``."""
    return f"approval rule {rule.name!r} (v{rule.current_version}, " \
           f"{'on' if rule.active else 'off'})"


def fact_uses(session: Session) -> dict[str, list[str]]:
    """Every fact some rule's current version tests, with the rules that test it (none
    before the approvals tables are migrated)."""
    uses: dict[str, list[str]] = {}
    if not sa.inspect(session.connection()).has_table(Rule.__tablename__):
        return uses
    for rule in session.scalars(sa.select(Rule).order_by(Rule.priority, Rule.id)):
        for name in facts_tested(current_definition(rule)):
            uses.setdefault(name, []).append(describe(rule))
    return uses

"""Demo approval rules, loaded before the demo orders so some of them wait for approval."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_approvals.models import Rule
from erpkit_approvals.rules import create_rule, load_definition

DEMO_RULES = [
    {"name": "Orders over 400.00", "priority": 10, "match": "all",
     "conditions": [{"fact": "orders.total", "operator": ">", "value": "400"}],
     "steps": [{"role": "approver", "required": 1, "time_limit": "4h",
                "breach_action": "escalate", "escalate_to": "admin"}]},
    {"name": "Line discounts over 8 %", "priority": 20, "match": "all",
     "conditions": [{"fact": "orders.max_line_discount_percent", "operator": ">",
                     "value": "8"}],
     "steps": [{"role": "approver", "required": 1, "time_limit": "8h",
                "breach_action": "remind"}]},
]


def load_demo(session: Session, users: Mapping[str, Any]) -> None:
    """Create the demo rules once; a second load adds nothing."""
    if session.scalar(sa.select(Rule.id).limit(1)) is not None:
        return
    actor = getattr(users.get("admin"), "login", None) or "demo"
    for raw in DEMO_RULES:
        create_rule(session, load_definition(raw), actor=actor)
    session.commit()

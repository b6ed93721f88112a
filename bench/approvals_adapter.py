"""The approvals plugin as the benchmarks use it: through its own service functions.

Imported only when the plugin is installed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

RULE_NAME = "bench: large orders"


def add_rule(app: Any, catalogue: Any, threshold: Decimal) -> None:
    """One active rule: orders whose total is above ``threshold`` wait for an approver."""
    from erpkit.db import db
    from erpkit_approvals.rules import create_rule, load_definition

    with app.app_context():
        definition = load_definition(
            {
                "name": RULE_NAME,
                "conditions": [{"fact": "orders.total", "operator": ">", "value": str(threshold)}],
                "steps": [{"name": "large order", "role": "approver", "required": 1}],
            }
        )
        create_rule(db.session, definition, actor="bench-admin")
        db.session.commit()


def open_request_ids(session: Any, order_id: int) -> list[int]:
    """The ids of the order's open approval requests (one query)."""
    import sqlalchemy as sa

    from erpkit_approvals.evaluation import OPEN
    from erpkit_approvals.models import ApprovalRequest

    return list(session.scalars(sa.select(ApprovalRequest.id).where(
        ApprovalRequest.order_id == order_id, ApprovalRequest.status == OPEN)))


def approve(session: Any, order_id: int, approver: Any) -> str:
    """The approver approves the order's open request (one transaction); returns the
    order's status afterwards."""
    from workload import status_of

    from erpkit_approvals.decisions import approve as approve_request

    # The approver picks the request in their inbox: the benchmark needs its id only.
    [request_id] = open_request_ids(session, order_id)
    session.rollback()  # the decision starts its own transaction
    approve_request(session, request_id, actor=approver)
    return status_of(session, order_id)

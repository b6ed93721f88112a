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


def approve(session: Any, order_id: int, approver: Any) -> str:
    """The approver approves the order's open request (one transaction); returns the
    order's status afterwards."""
    from workload import status_of

    from erpkit_approvals.decisions import approve as approve_request
    from erpkit_approvals.evaluation import open_requests

    [request] = open_requests(session, order_id)
    request_id = request.id
    session.rollback()  # the decision starts its own transaction
    approve_request(session, request_id, actor=approver)
    return status_of(session, order_id)

"""How many SQL statements one order's pipeline runs, with inventory and approvals on.

A count, not a time: it does not depend on the machine, and a change that makes the
pipeline ask the database more (a query per line, a flush per query, a lookup that was
read once and is read again) fails here. The ceilings are the counts
bench/profile_pipeline.py measured when they were set, plus a small margin; lower them
when the pipeline gets leaner. bench/README.md says which change bought what.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from erpkit.auth import create_user, ensure_builtin_roles
from erpkit.db import db
from erpkit.models import User
from erpkit_approvals.decisions import approve
from erpkit_approvals.evaluation import open_requests
from erpkit_approvals.rules import create_rule, load_definition
from erpkit_inventory import stock
from erpkit_inventory.models import Warehouse
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order, Product

#: Statements of each step (BEGIN and SAVEPOINT included), at most: what SQLite ran when
#: these were set (PostgreSQL runs one fewer, no BEGIN statement) plus a margin of one.
#: Before the work of issue 12 they were 12, 39, 21 and 46. The webhooks outbox (issue 19)
#: adds one multi-row INSERT of a transition's events to each transition; an approval that
#: also confirms measured 35 after it and the gates at every transition (issue 22).
CEILINGS = {"create": 11, "submit_and_confirm": 22, "submit_held": 17, "approve_and_confirm": 36}


class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(" ".join(statement.split())[:100])


@contextmanager
def counted(engine: sa.Engine) -> Iterator[Counter]:
    counter = Counter()
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def shop(app: Flask) -> dict[str, Any]:
    """Three products in stock, a customer, a seller and an approver, and a rule that
    holds orders above 1,000."""
    with app.app_context():
        session = db.session
        registry = app.extensions["erpkit"]
        ensure_builtin_roles(session, list(registry.permissions.values()))
        seller = create_user(session, "seller", "pass-word-1", ["sales"])
        approver = create_user(session, "approver", "pass-word-2", ["approver"])
        products = [Product(sku=f"P-{i}", name=f"Product {i}", unit_price=Decimal("10.00"))
                    for i in range(3)]
        customer = Customer(name="Ada Ltd", email="ada@example.com", country="GB")
        warehouse = Warehouse(code="MAIN", name="Main")
        session.add_all([*products, customer, warehouse])
        session.commit()
        for product in products:
            stock.receive(session, product, warehouse, 1000, actor="receiver")
        create_rule(session, load_definition({
            "name": "large orders",
            "conditions": [{"fact": "orders.total", "operator": ">", "value": "1000"}],
            "steps": [{"name": "large order", "role": "approver", "required": 1}]}),
            actor="admin")
        made = {"products": [p.id for p in products], "customer": customer.id,
                "seller": seller.id, "approver": approver.id}
        session.commit()
        # The first order creates the sequence of order numbers: that is not counted.
        create_order(session, {**_order(made, 1), "lines": _order(made, 1)["lines"][:1]})
        session.commit()
    return made


def _order(shop: dict[str, Any], quantity: int) -> dict[str, Any]:
    return {"customer_id": shop["customer"], "channel": "api",
            "lines": [{"product_id": p, "quantity": Decimal(quantity)}
                      for p in shop["products"]]}


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    assert user is not None
    user.roles  # noqa: B018  (loaded before counting)
    db.session.close()  # ends the transaction and keeps what was loaded (not expired)
    return user


def _status(order_id: int) -> str:
    status = str(db.session.scalar(sa.select(Order.status).where(Order.id == order_id)))
    db.session.commit()
    return status


def test_an_order_that_no_rule_holds_is_created_submitted_and_confirmed_in_few_statements(
        app, shop):
    with app.app_context():
        engine, session = db.engine, db.session
        seller = _user(shop["seller"])
        with counted(engine) as create:
            order = create_order(session, _order(shop, 2), actor=seller).order
        order_id = sa.inspect(order).identity[0]
        with counted(engine) as submit:
            lifecycle.submit(session, order_id, actor=seller)
        assert _status(order_id) == "confirmed"

    assert len(create.statements) <= CEILINGS["create"], create.statements
    assert len(submit.statements) <= CEILINGS["submit_and_confirm"], submit.statements


def test_an_order_held_for_approval_is_approved_and_confirmed_in_few_statements(app, shop):
    with app.app_context():
        engine, session = db.engine, db.session
        seller, approver = _user(shop["seller"]), _user(shop["approver"])
        order_id = create_order(session, _order(shop, 40), actor=seller).order.id
        with counted(engine) as submit:
            lifecycle.submit(session, order_id, actor=seller)
        assert _status(order_id) == "pending_approval"
        [request] = open_requests(session, order_id)
        request_id = request.id
        session.commit()
        with counted(engine) as decide:
            approve(session, request_id, actor=approver)
        assert _status(order_id) == "confirmed"

    assert len(submit.statements) <= CEILINGS["submit_held"], submit.statements
    assert len(decide.statements) <= CEILINGS["approve_and_confirm"], decide.statements

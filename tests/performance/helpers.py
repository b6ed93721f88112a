"""What the statement-count tests share: a counter of the statements an engine runs,
a shop to order from (three products in stock, a customer, a seller, an approver, a rule
that holds orders above 1,000), and the steps' small helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

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


def make_shop(app: Flask) -> dict[str, Any]:
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
        create_order(session, {**order_of(made, 1), "lines": order_of(made, 1)["lines"][:1]})
        session.commit()
    return made


def order_of(shop: dict[str, Any], quantity: int) -> dict[str, Any]:
    return {"customer_id": shop["customer"], "channel": "api",
            "lines": [{"product_id": p, "quantity": Decimal(quantity)}
                      for p in shop["products"]]}


def user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    assert user is not None
    user.roles  # noqa: B018  (loaded before counting)
    db.session.close()  # ends the transaction and keeps what was loaded (not expired)
    return user


def status(order_id: int) -> str:
    status = str(db.session.scalar(sa.select(Order.status).where(Order.id == order_id)))
    db.session.commit()
    return status


def count_an_unheld_order(app: Flask, shop: dict[str, Any]) -> tuple[Counter, Counter]:
    """The statements of creating an order no rule holds, and of submitting it (which
    approves and confirms it)."""
    with app.app_context():
        engine, session = db.engine, db.session
        seller = user(shop["seller"])
        with counted(engine) as create:
            order = create_order(session, order_of(shop, 2), actor=seller).order
        order_id = sa.inspect(order).identity[0]
        with counted(engine) as submit:
            lifecycle.submit(session, order_id, actor=seller)
        assert status(order_id) == "confirmed"
    return create, submit


def count_a_held_order(app: Flask, shop: dict[str, Any]) -> tuple[Counter, Counter]:
    """The statements of submitting an order a rule holds, and of the approval that
    approves and confirms it."""
    with app.app_context():
        engine, session = db.engine, db.session
        seller, approver = user(shop["seller"]), user(shop["approver"])
        order_id = create_order(session, order_of(shop, 40), actor=seller).order.id
        with counted(engine) as submit:
            lifecycle.submit(session, order_id, actor=seller)
        assert status(order_id) == "pending_approval"
        [request] = open_requests(session, order_id)
        request_id = request.id
        session.commit()
        with counted(engine) as decide:
            approve(session, request_id, actor=approver)
        assert status(order_id) == "confirmed"
    return submit, decide

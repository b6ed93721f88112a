"""How many SQL statements reporting's rollups add to one order's life (the approach of
tests/performance: a count, not a time, so it does not depend on the machine).

An order created, submitted (and so confirmed), shipped, delivered and closed: every
transition's rollup changes are collected and written once, when its transaction
commits (:func:`erpkit_reporting.rollup.defer`), one multi-row upsert per rollup table.
Before that (every status change wrote its own upserts and refreshed the customer's first
sale with two statements) the same life cost 16 statements on reporting's tables; now 13:
the submit transaction (submitted, approved, confirmed) writes 7 instead of 10. Shipping,
delivering and closing are transactions of their own and write 2, 2 and 1. The customer
spans (distinct and repeat customers of any range without a row per customer) add two to
the confirmation: the customer's neighbouring sales read, the spans upserted: 15.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from erpkit.db import db
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Product

from .conftest import all_orders

#: Statements on reporting's tables for the whole life, at most: what was measured (17 on
#: SQLite and PostgreSQL alike: 15 before the customer periods, which the sale adds to
#: with the revenue of the first periods beside the first sale, 13 before the customer
#: spans, 16 before the changes were collected per transaction).
CEILING = 17


@contextmanager
def counted(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split())[:120])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _life(session: Any, product_ids: list[int], customer_id: int) -> int:
    order = create_order(session, {"customer_id": customer_id, "channel": "web", "lines": [
        {"product_id": p, "quantity": Decimal(2)} for p in product_ids]}).order
    order_id = sa.inspect(order).identity[0]
    for move in (lifecycle.submit, lifecycle.ship, lifecycle.deliver, lifecycle.close):
        move(session, order_id)
    return order_id


def test_an_orders_life_writes_the_rollups_in_few_statements(app):
    with app.app_context():
        session = db.session
        products = [Product(sku=f"Q{i}", name=f"Q {i}", unit_price=Decimal("10.00"),
                            category=("a", "b")[i % 2]) for i in range(3)]
        customer = Customer(name="Counted Ltd", email="c@example.com", country="GB")
        session.add_all([*products, customer])
        session.commit()
        ids = [p.id for p in products]
        _life(session, ids, customer.id)  # the first order makes the number sequence
        session.commit()
        with counted(db.engine) as statements:
            _life(session, ids, customer.id)
        session.commit()
        orders = all_orders(session)
        assert [o.status for o in orders] == ["closed", "closed"]
        session.commit()
    ours = [s for s in statements if "reporting_" in s]
    assert len(ours) <= CEILING, "\n".join(ours)
    # one write per rollup table per transaction, never one per row
    assert len(ours) >= 5

"""A write request's answer is read after its commit in a transaction that only reads:
on SQLite it begins DEFERRED and so takes no write lock while the answer is built (it
used to begin IMMEDIATE, and another worker's write waited for the serialisation)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from erpkit.db import db

from .conftest import order_body


def _statements_of(app, request):
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()[:2]).upper())

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        answer = request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return answer, seen


def _after_last_commit(seen):
    begins = [i for i, s in enumerate(seen) if s.startswith("BEGIN")]
    return seen[begins[-1]:]


@pytest.mark.parametrize("move", ["create", "submit"])
def test_the_answer_of_a_write_is_read_without_the_write_lock(app, database_url, sales,
                                                             catalogue, move):
    if not database_url.startswith("sqlite"):
        pytest.skip("BEGIN DEFERRED against IMMEDIATE is SQLite's write lock")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    request = {"create": lambda: sales.post("/api/orders", json=order_body(catalogue)),
               "submit": lambda: sales.post(f"/api/orders/{order['id']}/submit")}[move]

    answer, seen = _statements_of(app, request)

    assert answer.status_code in (200, 201), answer.json
    assert answer.json["lines"] and answer.json["timeline"]  # read after the commit
    writes = [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes and "BEGIN IMMEDIATE" in seen  # the move itself took the lock
    reads = _after_last_commit(seen)
    assert reads[0] == "BEGIN DEFERRED", seen
    assert all(s.startswith(("BEGIN", "SELECT")) for s in reads), reads

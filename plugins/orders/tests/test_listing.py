"""Orders listed by creation time: every page from an index, every order once, newest
first (erpkit_orders.listing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event

from erpkit.db import db
from erpkit_orders.listing import newest_first
from erpkit_orders.models import Order

from .conftest import order_body


def _created_on_days(app, sales, catalogue, days: list[date]) -> dict[int, datetime]:
    """One order created on each of ``days`` (several orders share a day and an instant,
    so the id has to break ties); their ids and creation times."""
    ids = [sales.post("/api/orders", json=order_body(catalogue)).json["id"] for _ in days]
    created = {}
    with app.app_context():
        for order_id, day in zip(ids, days, strict=True):
            at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            db.session.execute(sa.update(Order).where(Order.id == order_id)
                               .values(created_at=at))
            created[order_id] = at
        db.session.commit()
    return created


def test_pages_filtered_by_creation_day_walk_every_order_once_newest_first(
        app, sales, catalogue):
    first = date(2026, 3, 1)
    # Ids and creation times in opposite orders, and ties within a day.
    days = [first + timedelta(days=(29 - i) // 3) for i in range(30)]
    created = _created_on_days(app, sales, catalogue, days)
    last_day = first + timedelta(days=6)

    seen, after, pages = [], None, 0
    while True:
        query = {"created_to": last_day.isoformat(), "limit": 4}
        if after:
            query["after"] = after
        page = sales.get("/api/orders", query_string=query)
        assert page.status_code == 200, page.json
        seen += [item["id"] for item in page.json["items"]]
        pages += 1
        after = page.json["next"]
        if after is None:
            break

    wanted = sorted((order_id for order_id, at in created.items()
                     if at.date() <= last_day),
                    key=lambda order_id: (created[order_id], order_id), reverse=True)
    assert seen == wanted
    assert len(wanted) == 21 and pages == 6
    with_from = sales.get("/api/orders", query_string={
        "created_from": (first + timedelta(days=8)).isoformat(), "limit": 100}).json
    assert {item["id"] for item in with_from["items"]} == {
        order_id for order_id, at in created.items() if at.date() >= first + timedelta(days=8)}


def _plan(query: sa.Select) -> str:
    """The backend's plan of ``query``, as text: the statement as the driver receives it
    (its parameters bound and converted), prefixed with EXPLAIN on its way out."""
    connection = db.session.connection()
    sqlite = connection.dialect.name == "sqlite"
    if not sqlite:
        # The test's table is small, so PostgreSQL would rightly read it whole and sort
        # it: make both a last resort, to see whether an index serves the filter and the
        # order by itself (a plan that still sorts has no such index).
        for method in ("seqscan", "bitmapscan", "sort"):
            connection.exec_driver_sql(f"SET LOCAL enable_{method} = off")

    def explain(_conn, _cursor, statement, parameters, _context, _many):
        return ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters

    event.listen(connection, "before_cursor_execute", explain, retval=True)
    try:
        rows = connection.execute(query).fetchall()
    finally:
        event.remove(connection, "before_cursor_execute", explain)
    return "\n".join(str(row[-1]) for row in rows)


def test_a_creation_day_filter_and_its_cursor_read_an_index_with_no_sort(
        app, sales, catalogue):
    _created_on_days(app, sales, catalogue, [date(2026, 3, 1)] * 3)
    with app.app_context():
        for after in (None, 2):
            query = newest_first(db.session, sa.select(Order).limit(101), after=after,
                                 created_to=date(2026, 3, 5))
            plan = _plan(query)
            assert "ix_orders_order_created" in plan, plan
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
        db.session.rollback()

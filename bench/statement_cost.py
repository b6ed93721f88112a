"""What one indexed read costs through SQLAlchemy, built four ways.

    .venv/bin/python bench/statement_cost.py [--db sqlite|postgresql] [--calls 3000]

``SELECT status FROM orders_order WHERE id = ?`` on a fresh database with a few orders:
built on every call from the mapped class, built once from the mapped class, built once
from the table's columns (Core) through the session, and the same through the session's
connection. Why erpkit's per-order statements are built once on the tables' columns
(bench/README.md, "Issue 12, eighth pass"). Prints one JSON document: microseconds a call,
the median of five rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from _common import build_app, dispose_engine, emit, fresh_database, machine, migrate
from workload import SEED, run_pipeline, seed_catalogue


def _microseconds(call: Callable[[], Any], calls: int) -> float:
    for _ in range(200):
        call()
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return round(statistics.median(rounds), 1)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"benchmark": "statement_cost", "db": args.db}
    with fresh_database(args.db) as database:
        migrate(database.url, None)
        app = build_app(database.url, None)
        run_pipeline(app, seed_catalogue(app), 20, seed=SEED)
        from erpkit.db import db
        from erpkit_orders.models import Order

        table = Order.__table__
        orm_once = sa.select(Order.status).where(Order.id == sa.bindparam("id"))
        core_once = sa.select(table.c.status).where(table.c.id == sa.bindparam("id"))
        with app.app_context():
            session = db.session
            order_id = session.scalar(sa.select(sa.func.min(Order.id)))
            ways = {
                "built_every_call_from_the_model": lambda: session.execute(
                    sa.select(Order.status).where(Order.id == order_id)).scalar(),
                "built_once_from_the_model": lambda: session.execute(
                    orm_once, {"id": order_id}).scalar(),
                "built_once_from_the_table_through_the_session": lambda: session.execute(
                    core_once, {"id": order_id}).scalar(),
                "built_once_from_the_table_through_the_connection": lambda: (
                    session.connection().execute(core_once, {"id": order_id}).scalar()),
            }
            result["microseconds_a_call"] = {
                name: _microseconds(call, args.calls) for name, call in ways.items()}
            session.rollback()
        dispose_engine(app)
    result["machine"] = machine()
    emit(result)
    return result


if __name__ == "__main__":
    main()

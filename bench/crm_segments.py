"""RFM segments of 100,000 customers with 1,000,000 orders: how long a full recompute takes.

    .venv/bin/python bench/crm_segments.py [--customers 100000] [--orders 1000000]
                                          [--db sqlite|postgresql]

Makes a fresh database migrated with orders and crm, writes the customers and their
delivered, closed, returned and open orders with plain Core inserts (as an import of
history would leave them), then times ``erpkit_crm.segments.recompute`` (one aggregate
query, ranking in Python, one bulk insert of the scores), the same function
``erpkit crm segments recompute`` runs, and checks its figures. Prints one JSON document.
The target is under 60 s on the SQLite default.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from _common import build_app, dispose_engine, emit, fresh_database, machine, migrate, progress

TARGET_SECONDS = 60.0
PLUGINS = ["orders", "crm"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def load(connection: sa.Connection, customers: int, orders: int, seed: int) -> None:
    from erpkit_orders.models import Customer, Order

    rng = random.Random(seed)
    now = datetime(2026, 6, 30, tzinfo=UTC)
    connection.execute(sa.insert(Customer.__table__), [
        {"id": i, "name": f"Customer {i}", "created_at": now} for i in range(1, customers + 1)])
    statuses = ["delivered"] * 7 + ["closed"] * 2 + ["confirmed"]
    batch: list[dict[str, Any]] = []
    for number in range(1, orders + 1):
        total = rng.randrange(500, 200_000) / 100
        at = now - timedelta(days=rng.randrange(0, 1500), minutes=rng.randrange(0, 1440))
        batch.append({"id": number, "number": f"H-{number}", "channel": "import",
                      "customer_id": rng.randrange(1, customers + 1), "currency": "EUR",
                      "status": rng.choice(statuses), "subtotal": total, "discount_total": 0,
                      "total": total, "shipping_charge": 0, "public_token": f"t{number}",
                      "created_at": now, "updated_at": now, "status_changed_at": now,
                      "ordered_at": at, "imported_as_history": True, "version": 1})
        if len(batch) == 50_000:
            connection.execute(sa.insert(Order.__table__), batch)
            batch.clear()
            progress(f"{number:,} orders written")
    if batch:
        connection.execute(sa.insert(Order.__table__), batch)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    with fresh_database(args.db, keep=args.keep) as database:
        migrate(database.url, PLUGINS)
        app = build_app(database.url, PLUGINS)
        started = time.perf_counter()
        with app.app_context():
            from erpkit.db import db

            with db.engine.begin() as connection:
                load(connection, args.customers, args.orders, args.seed)
            load_seconds = time.perf_counter() - started
            progress(f"loaded in {load_seconds:.1f} s; recomputing")
            from erpkit.transitions import run_atomic
            from erpkit_crm import segments
            from erpkit_crm.models import CustomerScore

            as_of = date(2026, 6, 30)
            result = run_atomic(db.session, lambda: segments.recompute(db.session, as_of))
            counts = dict(db.session.execute(
                sa.select(CustomerScore.segment, sa.func.count())
                .group_by(CustomerScore.segment)).all())
            db.session.commit()
        dispose_engine(app)
    report = {
        "benchmark": "crm_segments", "backend": args.db, "customers": args.customers,
        "orders": args.orders, "scored_customers": result.customers,
        "load_seconds": round(load_seconds, 1), "recompute_seconds": round(result.seconds, 2),
        "target_seconds": TARGET_SECONDS, "within_target": result.seconds < TARGET_SECONDS,
        "segments": {str(k): v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))},
        "machine": machine(),
    }
    emit(report)
    return report


if __name__ == "__main__":
    main()

"""The step sweep at scale, and what asking for a job costs a transition.

    .venv/bin/python bench/sweep.py [--orders 100000] [--late 1000] [--db sqlite]

Migrates a fresh database (orders and approvals), makes the people the breaches notify
through the service functions, then writes ``--orders`` open orders (confirmed, each
with its status history) straight into the tables; ``--late`` of them were confirmed
three days ago, past ``orders.sla.confirmed_to_shipped`` (48h). It then measures:

* ``listing``: the overdue query alone (what every sweep starts with);
* ``sweep``: one full sweep, the core's ``erpkit.steps.sweep``, which claims, escalates,
  notifies (the warehouse's people, the admins) and writes the timeline of each breach,
  one transaction each;
* ``second_sweep``: the next sweep, which finds everything handled;
* ``enqueue``: the median and 95th percentile of a real transition (cancelling a draft)
  without and with a plugin that asks for a job in it (``erpkit.jobs.enqueue``: a
  ``core_job_run`` row in the transaction, the hand-over to huey's SQLite queue after
  the commit), and the difference.

Prints one JSON document (seconds, orders, breaches, ...); asserts nothing.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _common import build_app, emit, fresh_database, machine, migrate, progress, rounded

BATCH = 5000
PLUGINS = ["orders", "approvals"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--late", type=int, default=1_000)
    parser.add_argument("--transitions", type=int, default=300,
                        help="transitions measured for the enqueue cost, each way")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    return parser.parse_args(argv)


def seed_people(app: Any) -> int:
    from erpkit.auth import create_user, ensure_builtin_roles
    from erpkit.db import db
    from erpkit_orders.catalogue import create_customer

    with app.app_context():
        registry = app.extensions["erpkit"]
        ensure_builtin_roles(db.session, list(registry.permissions.values()))
        for login, role in (("wes", "warehouse"), ("wil", "warehouse"), ("root", "admin"),
                            ("ada", "admin")):
            create_user(db.session, login, "bench-password", [role], email=f"{login}@x.example")
        customer = create_customer(db.session, {"name": "Bench Ltd", "country": "GB"})
        db.session.commit()
        return int(customer.id)


def write_orders(url: str, customer_id: int, count: int, late: int, drafts: int) -> None:
    """``count`` confirmed orders (the first ``late`` confirmed three days ago) and
    ``drafts`` drafts, with their status history, in batches."""
    from erpkit.db import Base, create_engine

    order_t = Base.metadata.tables["orders_order"]
    event_t = Base.metadata.tables["orders_timeline_event"]
    now = datetime.now(UTC)
    engine = create_engine(url)
    event_id = 0
    with engine.connect() as conn:
        for start in range(0, count + drafts, BATCH):
            orders, events = [], []
            for order_id in range(start + 1, min(start + BATCH, count + drafts) + 1):
                draft = order_id > count
                at = now - (timedelta(days=3) if order_id <= late else timedelta(hours=1))
                orders.append({
                    "id": order_id, "number": f"SWEEP-{order_id:07d}", "channel": "web",
                    "customer_id": customer_id, "currency": "EUR",
                    "status": "draft" if draft else "confirmed",
                    "subtotal": Decimal("10.00"), "discount_total": Decimal("0.00"),
                    "total": Decimal("10.00"), "public_token": secrets.token_urlsafe(16),
                    "created_by": "bench", "created_at": at, "updated_at": at,
                    "status_changed_at": at, "version": 1})
                path = ("draft",) if draft else ("draft", "submitted", "approved", "confirmed")
                previous = None
                for status in path:
                    event_id += 1
                    events.append({"id": event_id, "order_id": order_id, "at": at,
                                   "kind": "status", "from_status": previous,
                                   "to_status": status, "actor": "bench",
                                   "message": status, "public": True, "source": "orders"})
                    previous = status
            with conn.begin():
                conn.execute(order_t.insert(), orders)
                conn.execute(event_t.insert(), events)
    engine.dispose()


def measure_sweep(app: Any) -> dict[str, Any]:
    from erpkit.db import db
    from erpkit.plugins import current_registry
    from erpkit.steps import overdue, sweep

    with app.app_context():
        registry = current_registry()
        started = time.perf_counter()
        found = overdue(db.session, registry, unhandled_only=True)
        listing = time.perf_counter() - started
        db.session.rollback()
        started = time.perf_counter()
        report = sweep(db.session, registry)
        swept = time.perf_counter() - started
        started = time.perf_counter()
        again = sweep(db.session, registry)
        second = time.perf_counter() - started
    return {"listing_seconds": rounded(listing), "found": len(found),
            "seconds": rounded(swept), "handled": len(report.handled),
            "failed": len(report.failed), "second_sweep_seconds": rounded(second),
            "second_sweep_handled": len(again.handled)}


def _cancel_drafts(app: Any, ids: list[int]) -> list[float]:
    from erpkit.db import db
    from erpkit_orders import lifecycle

    timings = []
    with app.app_context():
        for order_id in ids:
            started = time.perf_counter()
            lifecycle.cancel(db.session, order_id, actor="bench", reason="bench")
            timings.append(time.perf_counter() - started)
    return timings


def measure_enqueue(url: str, first_draft: int, count: int) -> dict[str, Any]:
    from erpkit.jobs import Job, enqueue, jobs_of
    from erpkit.testing import make_plugin

    def asks_for_a_job(order, transition):
        enqueue(transition.session, "sweepbench.noop", order_id=order.id)

    plugin = make_plugin("sweepbench", requires=("orders",),
                         erpkit_jobs=lambda: [Job("sweepbench.noop", lambda context, **a: None)],
                         erpkit_order_cancelled=asks_for_a_job)
    from erpkit.app import create_app

    plain = build_app(url, PLUGINS)
    asking = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "bench",
                         "PLUGINS": [*PLUGINS, "sweepbench"], "EXTRA_PLUGINS": [plugin]})
    ids = list(range(first_draft, first_draft + 2 * count + 40))
    _cancel_drafts(plain, ids[:20])  # warm both paths up
    _cancel_drafts(asking, ids[20:40])
    rest = ids[40:]
    # Interleave the two, so both see the same database growth.
    without, with_job = [], []
    for index in range(0, len(rest), 20):
        chunk = rest[index:index + 20]
        (without if (index // 20) % 2 == 0 else with_job).extend(
            _cancel_drafts(plain if (index // 20) % 2 == 0 else asking, chunk))
    jobs_of(asking).huey.flush()

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {"median_ms": round(statistics.median(ordered) * 1000, 3),
                "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
                "transitions": len(ordered)}

    plain_s, asking_s = summary(without), summary(with_job)
    return {"without_job": plain_s, "with_job": asking_s,
            "added_median_ms": round(asking_s["median_ms"] - plain_s["median_ms"], 3),
            "storage": jobs_of(asking).url.split("://")[0]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result: dict[str, Any] = {"benchmark": "sweep", "db": args.db, "orders": args.orders,
                              "breaches": args.late, "machine": machine()}
    with fresh_database(args.db) as database:
        progress(f"migrating {database.url}")
        migrate(database.url, PLUGINS)
        app = build_app(database.url, PLUGINS)
        customer = seed_people(app)
        drafts = 2 * args.transitions + 40
        progress(f"writing {args.orders} open orders ({args.late} late) and {drafts} drafts")
        started = time.perf_counter()
        write_orders(database.url, customer, args.orders, args.late, drafts)
        result["load_seconds"] = rounded(time.perf_counter() - started, 1)
        progress("sweeping")
        sweep_result = measure_sweep(app)
        result["seconds"] = sweep_result["seconds"]
        result["sweep"] = sweep_result
        progress("measuring what asking for a job adds to a transition")
        result["enqueue"] = measure_enqueue(database.url, args.orders + 1, args.transitions)
    emit(result)
    return result


if __name__ == "__main__":
    main()

"""K processes placing and confirming orders at once against scarce stock.

    .venv/bin/python bench/concurrency.py [--db postgresql] [--orders 400] [--workers 1,2,4,8]

For each K: a fresh database (PostgreSQL by default), a catalogue of a few scarce
products whose stock covers about half of what the orders ask for, and K worker
processes that share the same M orders (worker w takes every K-th one) and push each
through create -> submit -> (approve) -> confirm -> reserve, as ``pipeline.py`` does.
Reported per K: throughput, how many confirmations inventory refused, failures, the
transitions run again after a deadlock or serialization failure, and the final check
that no stock level reserves more than it holds (with inventory's own drift check of
levels against ledger and reservations). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import time
from typing import Any

from _common import active_plugins, build_app, emit, fresh_database, machine, migrate, progress
from workload import (
    LINES_PER_ORDER,
    SEED,
    Catalogue,
    StageTimes,
    order_specs,
    run_order,
    seed_catalogue,
)

MAX_QUANTITY = 5
SCARCE_PRODUCTS = 20


class _RetryCounter(logging.Handler):
    """Counts the transitions erpkit.transitions.run_atomic ran again after a conflict."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "conflict" in record.getMessage():
            self.count += 1


def worker(
    url: str,
    catalogue: Catalogue,
    total: int,
    workers: int,
    number: int,
    barrier: Any,
    results: Any,
) -> None:
    """One process: its share of the orders, as fast as it can, after the common start."""
    retries = _RetryCounter()
    log = logging.getLogger("erpkit.transitions")
    log.addHandler(retries)
    log.setLevel(logging.INFO)
    app = build_app(url)
    specs = [
        s
        for i, s in enumerate(order_specs(catalogue, total, SEED, MAX_QUANTITY))
        if i % workers == number
    ]
    times = StageTimes()
    barrier.wait()
    started = time.perf_counter()
    for spec in specs:
        try:
            run_order(app, catalogue, spec, times)
        except Exception as exc:  # reported, not raised: one failure must not stop the run
            times.failed += 1
            name = type(exc).__name__
            times.errors[name] = times.errors.get(name, 0) + 1
    elapsed = time.perf_counter() - started
    from erpkit.db import db

    with app.app_context():
        db.engine.dispose()
    results.put(
        {"worker": number, "seconds": elapsed, "retries": retries.count, "times": times.as_dict()}
    )


def run_k(backend: str, workers: int, orders: int) -> dict[str, Any]:
    with fresh_database(backend) as database:
        migrate(database.url)
        app = build_app(database.url)
        inventory = "inventory" in app.extensions["erpkit"].plugins
        demand = orders * LINES_PER_ORDER * (1 + MAX_QUANTITY) / 2
        stock = math.ceil(demand / 2 / SCARCE_PRODUCTS)
        catalogue = seed_catalogue(
            app,
            products=SCARCE_PRODUCTS,
            customers=200,
            stock_per_product=stock,
            max_quantity=MAX_QUANTITY,
        )
        from erpkit.db import db

        with app.app_context():
            db.engine.dispose()

        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(workers + 1)
        results = context.Queue()
        processes = [
            context.Process(
                target=worker, args=(database.url, catalogue, orders, workers, n, barrier, results)
            )
            for n in range(workers)
        ]
        for process in processes:
            process.start()
        barrier.wait()
        started = time.perf_counter()
        reports = [results.get() for _ in processes]
        wall = time.perf_counter() - started
        for process in processes:
            process.join()

        merged: dict[str, Any] = {
            "orders": 0,
            "held_for_approval": 0,
            "confirmation_refused": 0,
            "failed": 0,
            "final_status": {},
            "errors": {},
        }
        for report in reports:
            part = report["times"]
            for key in ("orders", "held_for_approval", "confirmation_refused", "failed"):
                merged[key] += part[key]
            for table in ("final_status", "errors"):
                for name, count in part[table].items():
                    merged[table][name] = merged[table].get(name, 0) + count
        result: dict[str, Any] = {
            "workers": workers,
            "orders": orders,
            "wall_seconds": round(wall, 3),
            "orders_per_second": round(orders / wall, 1),
            "stock_per_product": stock,
            "products": SCARCE_PRODUCTS,
            "demand_units": demand,
            "supply_units": stock * SCARCE_PRODUCTS,
            **merged,
            "transactions_run_again_after_conflict": sum(r["retries"] for r in reports),
            "worker_seconds": [
                round(r["seconds"], 3) for r in sorted(reports, key=lambda r: r["worker"])
            ],
        }
        with app.app_context():
            if inventory:
                import inventory_adapter

                result["stock_check"] = inventory_adapter.reservation_check(db.session)
            else:
                result["stock_check"] = "inventory is not installed: no stock to check"
            db.engine.dispose()
        return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--orders", type=int, default=400, help="orders per K (M)")
    parser.add_argument("--workers", default="1,2,4,8", help="the values of K")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result: dict[str, Any] = {"benchmark": "concurrency", "db": args.db, "orders": args.orders}
    runs = []
    for workers in (int(k) for k in args.workers.split(",")):
        progress(f"K={workers}: {args.orders} orders on a fresh {args.db} database")
        runs.append(run_k(args.db, workers, args.orders))
        progress(
            f"  {runs[-1]['orders_per_second']} orders/s, "
            f"{runs[-1]['confirmation_refused']} refused, {runs[-1]['failed']} failed"
        )
    with fresh_database("sqlite") as database:
        migrate(database.url)
        result["plugins"] = active_plugins(build_app(database.url))
    result["runs"] = runs
    result["reserved_never_exceeded_on_hand"] = (
        all(
            isinstance(r["stock_check"], dict)
            and r["stock_check"]["reserved_never_exceeded_on_hand"]
            for r in runs
        )
        if all(isinstance(r["stock_check"], dict) for r in runs)
        else None
    )
    result["machine"] = machine()
    emit(result)
    return result


if __name__ == "__main__":
    main()

"""Orders per second through the whole pipeline, against the storage floor.

    .venv/bin/python bench/pipeline.py --orders 1000 [--db sqlite|postgresql]

Makes a fresh database, migrates it, builds the app with every installed plugin, seeds
a catalogue (and stock, and an approval rule, when those plugins are installed), then
pushes N orders of three lines through create -> submit -> rules -> (approve) -> confirm
-> reserve -> timeline, one transaction per transition, through the real service
functions. The same rows are then written by plain Core into a copy of the seeded
database (``floor.py``), and the pipeline is reported as a share of that floor. The
recorder that notes the rows for the floor runs inside the pipeline's transactions; its
own time is measured and printed, and the share is the pipeline's rate without it
(``pipeline_share_of_floor``) beside the rate with it
(``pipeline_share_of_floor_recorder_included``). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from typing import Any

import sqlalchemy as sa
from _common import (
    active_plugins,
    build_app,
    current_rss_mib,
    dispose_engine,
    emit,
    fresh_database,
    machine,
    migrate,
    peak_rss_mib,
    progress,
)
from floor import Floor, WriteRecorder
from workload import SEED, run_pipeline, seed_catalogue, status_counts

FLOOR_TARGET = 0.25


class StatementCount:
    """Counts the SQL statements the pipeline sends (BEGIN and SAVEPOINT included)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000, help="orders to push (N)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed of the orders")
    parser.add_argument("--no-floor", action="store_true", help="skip the storage floor")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace Python allocations during the pipeline (slows it: timings not comparable)",
    )
    parser.add_argument(
        "--plugins",
        help="comma-separated plugins to enable (default: every installed one), to see "
        "what each one costs",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    plugins = [p.strip() for p in args.plugins.split(",")] if args.plugins else None
    result: dict[str, Any] = {"benchmark": "pipeline", "db": args.db, "orders": args.orders}
    with fresh_database(args.db, keep=args.keep) as database:
        progress(f"migrating a fresh {args.db} database")
        result["migrate_seconds"] = round(migrate(database.url, plugins), 3)
        app = build_app(database.url, plugins)
        result["plugins"] = active_plugins(app)
        progress(f"plugins: {', '.join(result['plugins'])}; seeding")
        catalogue = seed_catalogue(app)
        result["seed"] = {
            "products": len(catalogue.product_ids),
            "customers": len(catalogue.customer_ids),
            "warehouse": catalogue.warehouse_id is not None,
            "approval_rule_total_above": catalogue.approval_threshold,
        }
        floor_db = raw_db = None
        if not args.no_floor:
            dispose_engine(app)  # PostgreSQL copies a database only when nobody is connected
            floor_db = database.snapshot("floor")
            raw_db = database.snapshot("raw")

        recorder = floor = None
        if floor_db is not None:
            with app.app_context():
                from erpkit.db import db

                recorder = WriteRecorder(db.engine)
            recorder.install()
            floor = Floor(recorder, database.url, floor_db.url,
                          raw_db.url if raw_db is not None else None)
        if args.tracemalloc:
            tracemalloc.start()
        statements = StatementCount()
        with app.app_context():
            from erpkit.db import db

            sa.event.listen(db.engine, "before_cursor_execute", statements)
        rss_before = current_rss_mib()
        load_before = os.getloadavg()
        progress(f"pushing {args.orders} orders through the pipeline (and the floor)")
        times, wall = run_pipeline(
            app,
            catalogue,
            args.orders,
            seed=args.seed,
            observer=recorder,
            interlude=floor.catch_up if floor is not None else None,
        )
        memory: dict[str, Any] = {
            "rss_before_pipeline_mib": rss_before,
            "rss_after_pipeline_mib": current_rss_mib(),
            "peak_rss_mib": peak_rss_mib(),
        }
        if args.tracemalloc:
            memory["tracemalloc_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()
            memory["note"] = "tracemalloc was on: the timings of this run are not comparable"
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", statements)
        if recorder is not None:
            recorder.remove()
        result["load_average_before_after"] = [round(x, 2) for x in load_before + os.getloadavg()]

        orders_per_second = args.orders / wall
        result["pipeline"] = {
            "wall_seconds": round(wall, 3),
            "orders_per_second": round(orders_per_second, 1),
            **times.as_dict(),
            "statements_per_order": round(statements.count / args.orders, 1),
            "status_in_database": status_counts(app),
            "write_recorder_on": recorder is not None,
        }
        result["memory"] = memory

        rate_for_share = orders_per_second
        if recorder is not None:
            # The recorder's listeners run inside the pipeline's transitions; their time is
            # the benchmark's, not the pipeline's. Both rates are printed; the share uses
            # the pipeline's own.
            own_wall = wall - recorder.seconds
            rate_for_share = args.orders / own_wall
            result["pipeline"]["write_recorder_seconds"] = round(recorder.seconds, 3)
            result["pipeline"]["write_recorder_cpu_seconds"] = round(recorder.cpu_seconds, 3)
            result["pipeline"]["orders_per_second_less_recorder"] = round(rate_for_share, 1)
        if recorder is not None and floor is not None:
            report = floor.report()
            floor.close()
            recorder.discard()
            floor_rate = args.orders / report["seconds"]
            report["orders_per_second"] = round(floor_rate, 1)
            result["floor"] = report
            if "raw_driver" in report:
                raw = report["raw_driver"]
                raw["orders_per_second"] = round(args.orders / raw["seconds"], 1)
                result["pipeline_share_of_raw_driver"] = round(
                    rate_for_share / raw["orders_per_second"], 3)
            result["pipeline_share_of_floor"] = round(rate_for_share / floor_rate, 3)
            result["pipeline_share_of_floor_recorder_included"] = round(
                orders_per_second / floor_rate, 3)
            if args.db == "sqlite" and times.cpu_seconds and report["process_cpu_seconds"]:
                # SQLite works inside this process, so CPU time covers both sides; it is
                # the steadier figure when other work shares the machine.
                result["pipeline_share_of_floor_by_cpu_time"] = round(
                    report["process_cpu_seconds"]
                    / (times.cpu_seconds - recorder.cpu_seconds), 3
                )
            result["target_share_of_floor"] = FLOOR_TARGET
            result["target_met"] = rate_for_share / floor_rate >= FLOOR_TARGET
        dispose_engine(app)
    result["machine"] = machine()
    result["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    emit(result)
    return result


if __name__ == "__main__":
    main()

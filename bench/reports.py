"""Reports at scale: load N orders (bulk, as a history import would: no hooks), rebuild the
rollups, then time every report and the dashboard.

    .venv/bin/python bench/reports.py --orders 1000000 --backend sqlite
    .venv/bin/python bench/reports.py --orders 1000000 --backend postgresql

Load once and keep the database (``--keep`` prints its URL), then iterate on it:
``--reuse URL [--skip-rebuild] [--only NAME] [--no-dashboard]``.

Orders come from ``bulk_load.order_batches`` (two years, most closed, some cancelled, the
newest in every open status), with ``ordered_at``, ship and delivery dates and five
countries added. Each report is timed over the last twelve months and over the whole two
years (``by=month``), best and median of ``--repeat`` runs, through the same function the
API calls. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from _common import (
    build_app,
    dispose_engine,
    emit,
    fresh_database,
    machine,
    migrate,
    peak_rss_mib,
    progress,
    rounded,
)
from bulk_load import HISTORY, PATHS, order_batches
from workload import seed_catalogue

PLUGINS = ["orders", "reporting"]
COUNTRIES = (("DE", "Bavaria"), ("DE", "Berlin"), ("FR", "Bretagne"), ("GB", "London"),
             ("IT", "Lazio"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="also time 'report check'")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", metavar="URL",
                        help="time a database kept by an earlier --keep run (no load; "
                        "migrated to head, rebuilt unless --skip-rebuild); it is kept")
    parser.add_argument("--skip-rebuild", action="store_true",
                        help="do not rebuild: time the rollups as they are (with --reuse), "
                        "or only load (with --keep)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="time only this report (repeatable)")
    parser.add_argument("--no-dashboard", action="store_true", help="do not time the dashboard")
    return parser.parse_args(argv)


def _with_dates(orders: list[dict[str, Any]]) -> None:
    for row in orders:
        created = row["created_at"]
        row["ordered_at"] = created
        path = PATHS[row["status"]]
        row["shipped_at"] = created + timedelta(minutes=10 * path.index("shipped")) \
            if "shipped" in path else None
        row["delivered_at"] = created + timedelta(minutes=10 * path.index("delivered")) \
            if "delivered" in path else None
        row["imported_as_history"] = True


def load(url: str, catalogue: Any, count: int) -> float:
    from datetime import UTC, datetime

    from erpkit.db import Base, create_engine

    tables = Base.metadata.tables
    engine = create_engine(url)
    started = time.perf_counter()
    loaded = 0
    with engine.connect() as conn:
        for orders, lines, events in order_batches(catalogue, count, 7,
                                                   datetime.now(UTC) - HISTORY):
            _with_dates(orders)
            with conn.begin():
                conn.execute(tables["orders_order"].insert(), orders)
                conn.execute(tables["orders_order_line"].insert(), lines)
                conn.execute(tables["orders_timeline_event"].insert(), events)
            loaded += len(orders)
            if loaded % max(count // 10, 5000) == 0:
                progress(f"  {loaded} orders ({loaded / (time.perf_counter() - started):.0f}/s)")
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
    engine.dispose()
    return time.perf_counter() - started


def spread_customers(app: Any) -> None:
    from erpkit.db import db
    from erpkit_orders.models import Customer

    with app.app_context():
        for index, (country, region) in enumerate(COUNTRIES):
            db.session.execute(sa.update(Customer).where(Customer.id % len(COUNTRIES) == index)
                               .values(country=country, region=region))
        db.session.commit()


def time_call(call: Any, repeat: int) -> dict[str, float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return {"best_ms": rounded(min(seconds) * 1000, 1),
            "median_ms": rounded(statistics.median(seconds) * 1000, 1)}


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[str]:
    """The URL of the database to time: a kept one (``--reuse``) or a new one."""
    if args.reuse:
        yield args.reuse
        return
    with fresh_database(args.backend, keep=args.keep) as database:
        yield database.url


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result: dict[str, Any] = {"benchmark": "reports", "backend": args.backend,
                              "orders": args.orders, "machine": machine()}
    with _database(args) as url:
        migrate(url, PLUGINS)
        if not args.reuse:
            app = build_app(url, PLUGINS)
            catalogue = seed_catalogue(app, products=args.products, customers=args.customers,
                                       stock_per_product=None, hold_large_orders=False)
            spread_customers(app)
            dispose_engine(app)
            progress(f"loading {args.orders} orders")
            result["load_seconds"] = rounded(load(url, catalogue, args.orders), 1)
        app = build_app(url, PLUGINS)
        from erpkit.db import db
        from erpkit_reporting.available import reports_of
        from erpkit_reporting.catalogue import default_range
        from erpkit_reporting.dashboard import dashboard_figures
        from erpkit_reporting.rebuild import check, rebuild, tidy_after_rebuild
        from erpkit_reporting.service import run_report

        with app.app_context():
            registry = app.extensions["erpkit"]
            if args.reuse:
                result["orders"] = db.session.scalar(sa.text("SELECT count(*) FROM orders_order"))
                # end that read: a rebuild begun in an open transaction reads the timeline
                # in it, not beside its SQL (it may hold orders not yet committed)
                db.session.rollback()
            if not args.skip_rebuild:
                progress("rebuilding the rollups")
                started = time.perf_counter()
                rebuilt = rebuild(db.session)
                db.session.commit()
                tidied = time.perf_counter()
                tidy_after_rebuild(db.engine)  # what ``erpkit report rebuild`` does after
                result["rebuild"] = {"seconds": rounded(time.perf_counter() - started, 1),
                                     "orders": rebuilt.orders, "rows": rebuilt.rows,
                                     "parts_seconds": rebuilt.seconds,
                                     "tidy_seconds": rounded(time.perf_counter() - tidied, 1),
                                     "peak_rss_mib": peak_rss_mib()}
                progress(f"rebuilt in {result['rebuild']['seconds']} s")
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as conn:
                    conn.execute(sa.text("ANALYZE"))
                    conn.commit()
            first, last = default_range()
            spans = {"last_12_months": {"from": first.isoformat(), "to": last.isoformat()},
                     "two_years": {"from": (last - timedelta(days=731)).isoformat(),
                                   "to": last.isoformat()}}
            timings: dict[str, Any] = {}
            for name in reports_of(registry):
                if args.only and name not in args.only:
                    continue
                timings[name] = {}
                for span_name, span in spans.items():
                    raw = {**span, "by": "month"}
                    if name == "sales-by-customer":
                        raw["limit"] = "100"
                    timings[name][span_name] = time_call(
                        lambda raw=raw, name=name: run_report(registry, db.session, name, raw),
                        args.repeat)
                    db.session.rollback()
                progress(f"  {name}: {timings[name]}")
            result["reports"] = timings
            if not args.no_dashboard:
                result["dashboard"] = time_call(
                    lambda: dashboard_figures(registry, db.session, last), args.repeat)
                db.session.rollback()
                progress(f"  dashboard: {result['dashboard']}")
            if timings:
                slowest = max((t[s]["median_ms"], f"{n} {s}")
                              for n, t in timings.items() for s in t)
                result["slowest_report_median_ms"] = {"ms": slowest[0], "report": slowest[1]}
            if args.check:
                started = time.perf_counter()
                drifts = check(db.session)
                result["check"] = {"seconds": rounded(time.perf_counter() - started, 1),
                                   "drifts": len(drifts), "peak_rss_mib": peak_rss_mib()}
        dispose_engine(app)
    return result


if __name__ == "__main__":
    emit(main())

"""Load a large order history fast, for the at-scale benchmark (not a product feature).

    .venv/bin/python bench/bulk_load.py --orders 1000000 --out /path/to/orders.db

Migrates a new SQLite file with the real migrations, seeds the catalogue through the
service functions (products, customers, users; stock and an approval rule when those
plugins are installed), then streams orders, their lines and their timeline events
into the tables with Core ``executemany``, a batch per transaction. Memory stays flat:
one batch is in memory at a time. Orders are spread over the last two years, oldest
first; most are closed, the newest are in every open status. Inventory rows (ledger,
reservations) are not written for these orders: the stock levels stay as received.

Prints one JSON document: rows, seconds, rows per second, peak memory.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sqlite3
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _common import (
    active_plugins,
    build_app,
    current_rss_mib,
    dispose_engine,
    emit,
    machine,
    migrate,
    peak_rss_mib,
    progress,
)
from workload import Catalogue, seed_catalogue

LOADER_VERSION = 1
BATCH = 5000
HISTORY = timedelta(days=730)
CENT = Decimal("0.01")

# The path of statuses an order went through to reach its final status.
PATHS = {
    "closed": ("draft", "submitted", "approved", "confirmed", "shipped", "delivered", "closed"),
    "delivered": ("draft", "submitted", "approved", "confirmed", "shipped", "delivered"),
    "shipped": ("draft", "submitted", "approved", "confirmed", "shipped"),
    "cancelled": ("draft", "submitted", "approved", "confirmed", "cancelled"),
    "confirmed": ("draft", "submitted", "approved", "confirmed"),
    "pending_approval": ("draft", "submitted", "pending_approval"),
    "draft": ("draft",),
}
OLD_MIX = (("closed", 90), ("cancelled", 6), ("delivered", 4))
RECENT_MIX = (
    ("confirmed", 40),
    ("shipped", 20),
    ("pending_approval", 15),
    ("draft", 15),
    ("delivered", 10),
)
RECENT_SHARE = 0.03
SHIPPED = {"closed", "delivered", "shipped"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True, help="the SQLite file to create")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace Python allocations (slows the load: timings not comparable)",
    )
    return parser.parse_args(argv)


def _choose(rng: random.Random, mix: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in mix]
    weights = [weight for _, weight in mix]
    return rng.choices(names, weights)[0]


def order_batches(
    catalogue: Catalogue, count: int, seed: int, start: datetime
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Rows of ``BATCH`` orders at a time: (orders, lines, timeline events)."""
    rng = random.Random(seed)
    step = HISTORY / max(count, 1)
    line_id = event_id = 0
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    recent_from = int(count * (1 - RECENT_SHARE))
    for index in range(count):
        order_id = index + 1
        created = start + step * index
        status = _choose(rng, RECENT_MIX if index >= recent_from else OLD_MIX)
        gross = Decimal(0)
        for line_no, product_id in enumerate(rng.sample(catalogue.product_ids, 3), start=1):
            quantity = Decimal(rng.randint(1, 10))
            price = catalogue.prices[product_id]
            total = (quantity * price).quantize(CENT)
            gross += total
            line_id += 1
            lines.append(
                {
                    "id": line_id,
                    "order_id": order_id,
                    "line_no": line_no,
                    "product_id": product_id,
                    "quantity": quantity,
                    "unit_price": price,
                    "discount_percent": Decimal(0),
                    "line_total": total,
                    "shipped_quantity": quantity if status in SHIPPED else Decimal(0),
                }
            )
        path = PATHS[status]
        changed = created + timedelta(minutes=10 * (len(path) - 1))
        orders.append(
            {
                "id": order_id,
                "number": f"BULK-{order_id:07d}",
                "channel": rng.choice(("web", "api", "phone", "store")),
                "customer_id": rng.choice(catalogue.customer_ids),
                "currency": "EUR",
                "status": status,
                "subtotal": gross,
                "discount_total": Decimal("0.00"),
                "total": gross,
                "requested_date": None,
                "promised_date": (created + timedelta(days=3)).date()
                if "confirmed" in path
                else None,
                "note": None,
                "external_ref": None,
                "idempotency_key": None,
                "public_token": secrets.token_urlsafe(16),
                "created_by": "bench-sales",
                "submitted_by": "bench-sales" if len(path) > 1 else None,
                "created_at": created,
                "updated_at": changed,
                "status_changed_at": changed,
                "approved_fingerprint": None,
                "version": len(path),
            }
        )
        previous = None
        for position, to_status in enumerate(path):
            event_id += 1
            events.append(
                {
                    "id": event_id,
                    "order_id": order_id,
                    "at": created + timedelta(minutes=10 * position),
                    "kind": "status",
                    "from_status": previous,
                    "to_status": to_status,
                    "actor": "bench-sales",
                    "message": f"order {to_status}",
                    "public": True,
                    "source": "orders",
                }
            )
            previous = to_status
        if len(orders) == BATCH:
            yield orders, lines, events
            orders, lines, events = [], [], []
    if orders:
        yield orders, lines, events


def load(
    url: str, catalogue: Catalogue, count: int, seed: int
) -> tuple[dict[str, int], list[float | None]]:
    from erpkit.db import Base, create_engine

    tables = Base.metadata.tables
    order_t = tables["orders_order"]
    line_t = tables["orders_order_line"]
    event_t = tables["orders_timeline_event"]
    engine = create_engine(url)
    rows = {"orders": 0, "lines": 0, "timeline_events": 0}
    rss: list[float | None] = []
    start = datetime.now(UTC) - HISTORY
    started = time.perf_counter()
    with engine.connect() as conn:
        for orders, lines, events in order_batches(catalogue, count, seed, start):
            with conn.begin():
                conn.execute(order_t.insert(), orders)
                conn.execute(line_t.insert(), lines)
                conn.execute(event_t.insert(), events)
            rows["orders"] += len(orders)
            rows["lines"] += len(lines)
            rows["timeline_events"] += len(events)
            if rows["orders"] % max(count // 10, BATCH) == 0:
                rate = rows["orders"] / (time.perf_counter() - started)
                rss.append(current_rss_mib())
                progress(
                    f"  {rows['orders']} orders loaded ({rate:.0f} orders/s, RSS {rss[-1]} MiB)"
                )
    engine.dispose()
    checkpoint = sqlite3.connect(sa.make_url(url).database)
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint.close()
    return rows, rss


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; remove it first")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{args.out.resolve()}"
    result: dict[str, Any] = {
        "benchmark": "bulk_load",
        "orders": args.orders,
        "file": str(args.out),
    }
    progress(f"migrating {args.out}")
    migrate(url)
    app = build_app(url)
    result["plugins"] = active_plugins(app)
    progress("seeding the catalogue through the service functions")
    started = time.perf_counter()
    catalogue = seed_catalogue(app, products=args.products, customers=args.customers)
    result["seed_seconds"] = round(time.perf_counter() - started, 2)
    dispose_engine(app)

    rss_after_seed = current_rss_mib()
    if args.tracemalloc:
        tracemalloc.start()
    progress(f"loading {args.orders} orders in batches of {BATCH}")
    started = time.perf_counter()
    rows, rss = load(url, catalogue, args.orders, args.seed)
    seconds = time.perf_counter() - started
    result["rows"] = rows
    result["load_seconds"] = round(seconds, 2)
    result["orders_per_second"] = round(rows["orders"] / seconds, 1)
    result["rows_per_second"] = round(sum(rows.values()) / seconds, 1)
    result["memory"] = {
        "rss_after_seed_mib": rss_after_seed,
        "rss_mib_every_tenth": rss,
        "rss_at_end_mib": current_rss_mib(),
        "peak_rss_mib": peak_rss_mib(),
    }
    if args.tracemalloc:
        result["memory"]["tracemalloc_peak_mib"] = round(
            tracemalloc.get_traced_memory()[1] / 2**20, 1
        )
        tracemalloc.stop()
        result["memory"]["note"] = "tracemalloc was on: the load timings are not comparable"
    result["file_mib"] = round(args.out.stat().st_size / 2**20, 1)
    result["loader_version"] = LOADER_VERSION
    result["machine"] = machine()
    emit(result)
    return result


if __name__ == "__main__":
    main()

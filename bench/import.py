"""How fast a company's history comes in: catalogue, customers and past orders from CSV.

    .venv/bin/python bench/import.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/import.py --backend sqlite --orders 7000,70000
    .venv/bin/python bench/import.py --backend sqlite --profile /tmp/import.html

Generates the files a company would export (products, 25,000 customers, 70,000
one-line orders over two years: delivered, shipped, closed, cancelled, with discounts,
ship-to, carriers and shipping charges), migrates a new database with every installed
plugin and imports them through the same functions as ``erpkit products|customers|orders
import``. Each (backend, size) runs in a process of its own, so its peak RSS is the
import's; several sizes show whether memory grows with the file.

Prints one JSON document: seconds per phase, orders per second, peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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

TARGETS = {"sqlite": 60.0, "postgresql": 120.0}
STATUSES = ("delivered",) * 7 + ("shipped", "closed", "cancelled")


def write_files(folder: Path, orders: int, customers: int, products: int,
                seed: int = 13) -> dict[str, Path]:
    """The three CSV files, written row by row."""
    rng = random.Random(seed)
    paths = {name: folder / f"{name}.csv" for name in ("products", "customers", "orders")}
    with open(paths["products"], "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["sku", "name", "unit_price", "category", "active", "supplier",
                         "reorder_level"])
        for n in range(products):
            writer.writerow([f"P{n:05d}", f"Product {n}", f"{rng.randint(50, 50000) / 100:.2f}",
                             f"category {n % 12}", "no" if n % 20 == 0 else "yes",
                             f"Supplier {n % 40}", rng.randint(0, 50)])
    countries = ["UK", "USA", "Germany", "France", "Spain", "Italy", "NL", "Sweden"]
    with open(paths["customers"], "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "name", "email", "country", "city", "postal_code", "address"])
        for n in range(customers):
            writer.writerow([f"{n:06d}", f"Customer {n}", f"c{n}@example.com",
                             countries[n % len(countries)], f"City {n % 300}",
                             f"{10000 + n % 80000}", f"{n % 200} Main Street"])
    start = datetime(2023, 1, 1, tzinfo=UTC)
    with open(paths["orders"], "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["order_number", "customer_code", "order_date", "shipped_date",
                         "delivered_date", "status", "sku", "quantity", "unit_price",
                         "discount_percent", "ship_to_city", "ship_to_country", "carrier",
                         "shipping_charge", "salesperson"])
        for n in range(orders):
            ordered = start + timedelta(minutes=rng.randint(0, 730 * 24 * 60))
            status = rng.choice(STATUSES)
            shipped = ordered + timedelta(days=rng.randint(0, 9)) \
                if status != "cancelled" else None
            delivered = shipped + timedelta(days=rng.randint(1, 5)) \
                if shipped and status != "shipped" else None
            customer = rng.randrange(customers)
            writer.writerow([
                f"{100000 + n}", f"{customer:06d}", ordered.strftime("%Y-%m-%d %H:%M"),
                shipped.strftime("%Y-%m-%d %H:%M") if shipped else "",
                delivered.strftime("%Y-%m-%d") if delivered else "", status,
                f"P{rng.randrange(products):05d}", rng.randint(1, 20),
                f"{rng.randint(50, 50000) / 100:.2f}", rng.choice(["0", "0", "5", "10"]),
                f"City {customer % 300}", countries[customer % len(countries)],
                rng.choice(["DHL", "UPS", "Royal Mail"]), f"{rng.randint(0, 3000) / 100:.2f}",
                rng.choice(["Ann", "Bob", "Cy"])])
    return paths


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(backend: str, orders: int, customers: int, products: int,
            profile: str | None) -> dict[str, Any]:
    """One import of freshly generated files into a new database (in this process)."""
    from erpkit.db import db
    from erpkit_orders.catalogue_import import CUSTOMERS, PRODUCTS, import_records
    from erpkit_orders.csv_reading import CsvOptions
    from erpkit_orders.importer import binary_of_path, import_orders

    with tempfile.TemporaryDirectory(prefix="erpkit-import-") as folder, \
            fresh_database(backend) as database:
        started = time.perf_counter()
        paths = write_files(Path(folder), orders, customers, products)
        generated = time.perf_counter() - started
        file_mib = round(paths["orders"].stat().st_size / 2**20, 1)
        migrate(database.url)
        app = build_app(database.url)
        timings: dict[str, float] = {}
        counts: dict[str, Any] = {}
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler()
        with app.app_context():
            for name, kind in (("products", PRODUCTS), ("customers", CUSTOMERS)):
                started = time.perf_counter()
                with open(paths[name], "rb") as binary:
                    report = import_records(db.session, kind, binary, CsvOptions())
                timings[name] = time.perf_counter() - started
                counts[name] = {"created": report.created, "refused": report.refused}
            progress(f"{backend}: catalogue and customers in "
                     f"{timings['products'] + timings['customers']:.1f} s; orders...")
            if profiler:
                profiler.start()
            started, cpu = time.perf_counter(), _cpu_seconds()
            report = import_orders(db.session, binary_of_path(str(paths["orders"])),
                                   CsvOptions(), actor="bench")
            timings["orders"] = time.perf_counter() - started
            # The machine is shared: this process's CPU time shows the import's own cost.
            timings["orders_cpu"] = _cpu_seconds() - cpu
            if profiler:
                profiler.stop()
                Path(profile).write_text(profiler.output_html())
                progress(profiler.output_text(unicode=False, color=False)[:3000])
            counts["orders"] = {"created": report.created, "refused": report.refused}
            started = time.perf_counter()
            again = import_orders(db.session, binary_of_path(str(paths["orders"])),
                                  CsvOptions(), actor="bench")
            timings["orders_again"] = time.perf_counter() - started
            counts["orders_again"] = {"created": again.created,
                                      "already_imported": again.already_imported}
        dispose_engine(app)
    total = timings["products"] + timings["customers"] + timings["orders"]
    return {
        "backend": backend, "orders": orders, "customers": customers, "products": products,
        "orders_file_mib": file_mib, "generate_seconds": rounded(generated, 1),
        "seconds": {k: rounded(v, 2) for k, v in timings.items()},
        "import_seconds": rounded(total, 2),
        "orders_per_second": round(orders / timings["orders"]),
        "target_seconds": TARGETS[backend], "within_target": total < TARGETS[backend],
        "load_average_1min": round(os.getloadavg()[0], 1),
        "peak_rss_mib": peak_rss_mib(), "counts": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orders", default="70000",
                        help="comma-separated sizes, each run on its own (7000,70000)")
    parser.add_argument("--customers", type=int, default=25000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--profile", help="write a pyinstrument HTML profile of the orders "
                                          "import here (one backend, one size)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.backend, int(args.orders), args.customers,
                                 args.products, args.profile)))
        return
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    runs = []
    for backend in backends:
        for size in args.orders.split(","):
            progress(f"{backend}: {size} orders for {args.customers} customers")
            command = [sys.executable, __file__, "--child", "--backend", backend,
                       "--orders", size, "--customers", str(args.customers),
                       "--products", str(args.products)]
            if args.profile:
                command += ["--profile", args.profile]
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
            runs.append(json.loads(done.stdout))
    emit({"benchmark": "import", "machine": machine(), "runs": runs})


if __name__ == "__main__":
    main()

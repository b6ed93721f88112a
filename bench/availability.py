"""The availability of every product: ``GET /api/inventory/availability`` with 2,000.

    .venv/bin/python bench/availability.py [--products 2000] [--db sqlite] [--repeat 15]

Availability does not depend on the number of orders (at_scale.py times it too, on its
million-order file, which takes a quarter of an hour to load the first time): this
script seeds ``--products`` products with stock in one warehouse on a fresh database and
times the request alone (wall clock, and this process's CPU time) with the app's test
client and a bearer token, one cold run then ``--repeat`` warm ones (the median is
judged against 50 ms, issue 12).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from _common import active_plugins, build_app, emit, fresh_database, machine, migrate
from at_scale import timed_get
from workload import seed_catalogue


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    from erpkit.auth import issue_token
    from erpkit.db import db
    from erpkit.models import User

    result: dict[str, Any] = {"benchmark": "availability", "db": args.db,
                              "products": args.products, "machine": machine(),
                              "load_average_before": os.getloadavg()}
    with fresh_database(args.db) as database:
        migrate(database.url, None)
        app = build_app(database.url, None)
        result["plugins"] = active_plugins(app)
        catalogue = seed_catalogue(app, products=args.products, customers=10,
                                   hold_large_orders=False)
        with app.app_context():
            admin = db.session.get(User, catalogue.admin_id)
            token = issue_token(db.session, admin, "availability benchmark")
            db.session.commit()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        client = app.test_client()
        result["all_products"] = timed_get(client, "/api/inventory/availability", headers,
                                           args.repeat)
        # This process's CPU time per request (SQLite runs inside it): on a shared machine
        # it says more than the wall-clock time, which waits for the neighbours.
        cpu = []
        for _ in range(args.repeat):
            started = time.process_time()
            client.get("/api/inventory/availability", headers=headers)
            cpu.append(1000 * (time.process_time() - started))
        timing = result["all_products"]
        timing["median_cpu_ms"] = round(statistics.median(cpu), 1)
        # at_scale.py judges against 200 ms; this script against issue 12's 50 ms.
        timing.pop("under_target", None)
        timing.pop("slowest_under_target", None)
        timing["target_ms"] = 50
        timing["median_under_target"] = timing["median_ms"] < 50
        timing["median_cpu_under_target"] = timing["median_cpu_ms"] < 50
        result["load_average_after"] = os.getloadavg()
        with app.app_context():
            db.engine.dispose()
    emit(result)
    return result


if __name__ == "__main__":
    main()

"""Reading at scale: the lists, an order's detail and availability with a million orders.

    .venv/bin/python bench/at_scale.py --orders 1000000

Loads N orders with ``bulk_load.py`` into a SQLite file (the default backend), kept in
``bench/results/cache/`` and reused while N, the loader and the schema are the same,
then times, through the real app and its test client with a bearer token (the console
with an admin's login session):

* the JSON order list, first page and a deep page (keyset ``?after=``), a page
  filtered by a status, and a page for each of its other filters, with the plan SQLite
  chose for each (``plans``: every list filter should search an index);
* one order's detail with its lines and timeline;
* the availability of every product, and of one (when inventory is installed);
* the console's order list, first page and a deep one (when the console has one).

Each request runs once cold, then ``--repeat`` times; the median and the slowest warm
run are reported. Target: each under 200 ms. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, active_plugins, build_app, emit, machine, migrate, progress

TARGET_MS = 200
CACHE = BENCH_DIR / "results" / "cache"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7, help="warm runs per request")
    parser.add_argument("--rebuild", action="store_true", help="load again even if cached")
    parser.add_argument(
        "--loader-tracemalloc",
        action="store_true",
        help="run the loader with tracemalloc (its timings are then not comparable)",
    )
    return parser.parse_args(argv)


def schema_key() -> str:
    """Changes when the installed plugins or any of their migrations change."""
    from erpkit.migrate import version_locations
    from erpkit.plugins import load_plugins

    registry = load_plugins()
    digest = hashlib.sha1(",".join(sorted(registry.plugins)).encode())
    for branch, folder in sorted(version_locations(registry).items()):
        for revision in sorted(Path(folder).glob("*.py")):
            digest.update(f"{branch}/{revision.name}".encode())
            digest.update(revision.read_bytes())
    return digest.hexdigest()[:10]


def loaded_database(orders: int, rebuild: bool, tracemalloc: bool) -> tuple[Path, dict[str, Any]]:
    """The cached database of ``orders`` orders, loaded now if missing; and the loader's
    report (from when it ran)."""
    from bulk_load import LOADER_VERSION

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"orders-{orders}-v{LOADER_VERSION}-{schema_key()}.db"
    report_path = path.with_suffix(".json")
    if path.exists() and report_path.exists() and not rebuild:
        progress(f"using the cached database {path}")
        report = json.loads(report_path.read_text())
        report["cached"] = True
        return path, report
    for stale in CACHE.glob(f"orders-{orders}-*"):
        stale.unlink()
    partial = path.with_suffix(".loading")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    command = [sys.executable, str(BENCH_DIR / "bulk_load.py"), "--orders", str(orders)]
    command += ["--out", str(partial)] + (["--tracemalloc"] if tracemalloc else [])
    progress(f"loading {orders} orders (bulk_load.py in its own process)")
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    report = json.loads(done.stdout)
    os.replace(partial, path)
    report_path.write_text(json.dumps(report, indent=2))
    report["cached"] = False
    return path, report


def timed_get(client: Any, path: str, headers: dict[str, str], repeat: int) -> dict[str, Any]:
    """One cold request, then ``repeat`` warm ones; milliseconds."""

    def once() -> tuple[float, Any]:
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        return 1000 * (time.perf_counter() - started), response

    cold, response = once()
    warm = [once()[0] for _ in range(repeat)]
    result: dict[str, Any] = {
        "path": path,
        "status": response.status_code,
        "bytes": len(response.data),
        "cold_ms": round(cold, 1),
        "median_ms": round(statistics.median(warm), 1),
        "max_ms": round(max(warm), 1),
    }
    if response.is_json and isinstance(response.json, dict) and "items" in response.json:
        result["items"] = len(response.json["items"])
    elif response.is_json and isinstance(response.json, list):
        result["items"] = len(response.json)
    # Judged on the median warm run: the cold one also pays once-per-process costs
    # (templates compiled, SQLite's page cache filled), and on a shared machine the
    # slowest run says more about the neighbours than about erpkit; both are reported.
    ok = response.status_code == 200
    result["under_target"] = ok and statistics.median(warm) < TARGET_MS
    result["slowest_under_target"] = ok and max(warm) < TARGET_MS
    return result


def _console_list_path(app: Any) -> str | None:
    """The URL of the console's order list, if the console has one."""
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if (
            rule.rule.startswith("/admin/")
            and endpoint.startswith("orders_")
            and endpoint.endswith(".index")
            and "order" in endpoint.split(".")[0].removeprefix("orders_")
            and "GET" in (rule.methods or ())
            and not rule.arguments
        ):
            return rule.rule
    return None


def _rule_exists(app: Any, path: str) -> bool:
    return any(rule.rule == path for rule in app.url_map.iter_rules())


def measure(app: Any, orders: int, repeat: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from erpkit.auth import create_user, issue_token
    from erpkit.db import db
    from erpkit_orders.models import Order, Product

    with app.app_context():
        login = f"bench-scale-{uuid.uuid4().hex[:8]}"
        admin = create_user(db.session, login, "bench-pass", ["admin"])
        token = issue_token(db.session, admin, "at-scale benchmark")
        db.session.commit()
        admin_id = admin.id
        middle = db.session.scalar(
            sa.select(Order.id).where(Order.status == "closed", Order.id >= orders // 2).limit(1)
        )
        sku = db.session.scalar(sa.select(Product.sku).order_by(Product.id).limit(1))
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    client = app.test_client()
    timings: dict[str, Any] = {}

    progress("timing the JSON order list, detail and availability")
    timings["json_order_list_first_page"] = timed_get(client, "/api/orders", headers, repeat)
    deep = max(orders // 10, 2)  # a page of the oldest tenth: far from the first page
    timings["json_order_list_deep_page"] = timed_get(
        client, f"/api/orders?after={deep}", headers, repeat
    )
    timings["json_order_list_status_filter"] = timed_get(
        client, "/api/orders?status=pending_approval", headers, repeat
    )
    timings["json_order_list_status_filter_deep"] = timed_get(
        client, f"/api/orders?status=closed&after={deep}", headers, repeat
    )
    # Every filter of the list, each on its own, and the plan SQLite chose for it.
    sample = _sample_order(app, orders)
    filters = {
        "status": "status=pending_approval",
        "channel": "channel=phone",
        "customer_id": f"customer_id={sample['customer_id']}",
        "number": f"number={sample['number']}",
        "external_ref": "external_ref=none-such",
        "created_from": f"created_from={sample['day']}",
        "created_to_old": f"created_to={sample['first_day']}",
        "created_period": f"created_from={sample['day']}&created_to={sample['day']}",
    }
    timings["plans"] = {}
    for name, query in filters.items():
        path = f"/api/orders?{query}"
        timings[f"json_order_list_filter_{name}"] = timed_get(client, path, headers, repeat)
        timings["plans"][name] = _plans_of(app, client, path, headers)
    timings["json_order_detail_with_timeline"] = timed_get(
        client, f"/api/orders/{middle}", headers, repeat
    )
    if "inventory" in app.extensions["erpkit"].plugins and _rule_exists(
        app, "/api/inventory/availability"
    ):
        timings["availability_all_products"] = timed_get(
            client, "/api/inventory/availability", headers, repeat
        )
        timings["availability_one_product"] = timed_get(
            client, f"/api/inventory/availability?sku={sku}", headers, repeat
        )
    else:
        timings["availability_all_products"] = "not available (inventory is not installed)"

    console = _console_list_path(app)
    if console is None:
        timings["console_order_list"] = "not available (the console has no order list yet)"
    else:
        progress(f"timing the console's order list at {console}")
        browser = app.test_client()
        with browser.session_transaction() as session:
            # What erpkit.auth.login_user keeps in a console session.
            session.update({"user_id": admin_id, "session_version": 0,
                            "logged_in_at": int(time.time())})
        html = {"Accept": "text/html"}
        timings["console_order_list_first_page"] = timed_get(browser, console, html, repeat)
        first = browser.get(console, headers=html)
        timings["console_order_list_first_page"]["looks_like_a_list"] = (
            b"BULK-" in first.data or b"<table" in first.data
        )
        # The console pages with "older" links (?before=<id>), the API with ?after=<id>.
        timings["console_order_list_deep_page"] = timed_get(
            browser, f"{console}?before={deep}", html, repeat
        )
        timings["console_order_list_status_filter"] = timed_get(
            browser, f"{console}?status=pending_approval", html, repeat
        )
    return timings


def _sample_order(app: Any, orders: int) -> dict[str, Any]:
    """A customer, a number and creation days of the loaded orders to filter by."""
    import sqlalchemy as sa

    from erpkit.db import db
    from erpkit_orders.models import Order

    with app.app_context():
        order = db.session.get(Order, orders // 2)
        first = db.session.scalar(sa.select(sa.func.min(Order.created_at)))
        return {"customer_id": order.customer_id, "number": order.number,
                "day": order.created_at.date().isoformat(),
                "first_day": first.date().isoformat()}


def _plans_of(app: Any, client: Any, path: str, headers: dict[str, str]) -> list[str]:
    """SQLite's plan of each statement on the order table that a request to ``path``
    ran (captured as the driver received it, then asked ``EXPLAIN QUERY PLAN``)."""
    from sqlalchemy import event

    from erpkit.db import db

    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM orders_order" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        client.get(path, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    plans = []
    with engine.connect() as connection:
        for statement, parameters in seen:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append("; ".join(str(row[-1]) for row in rows))
    return plans


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result: dict[str, Any] = {"benchmark": "at_scale", "db": "sqlite", "orders": args.orders}
    path, loader = loaded_database(args.orders, args.rebuild, args.loader_tracemalloc)
    result["loader"] = {
        k: loader.get(k)
        for k in (
            "cached",
            "rows",
            "seed_seconds",
            "load_seconds",
            "orders_per_second",
            "rows_per_second",
            "memory",
            "file_mib",
            "plugins",
        )
    }
    url = f"sqlite:///{path}"
    migrate(url)  # a no-op unless a plugin was installed since the load
    app = build_app(url)
    result["plugins"] = active_plugins(app)
    result["target_ms"] = TARGET_MS
    result["requests"] = measure(app, args.orders, args.repeat)
    checked = [t for name, t in result["requests"].items()
               if isinstance(t, dict) and name != "plans"]
    result["all_under_target"] = all(t["under_target"] for t in checked)
    result["machine"] = machine()
    emit(result)
    return result


if __name__ == "__main__":
    main()

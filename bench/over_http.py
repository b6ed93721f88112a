"""The same orders over HTTP: gunicorn on loopback, bearer tokens, several client threads.

    .venv/bin/python bench/over_http.py --orders 1000 [--db sqlite|postgresql] [--workers 2]
        [--threads 4]

Makes a fresh database as ``pipeline.py`` does (migrated, seeded with the same catalogue,
stock and approval rule), starts ``gunicorn 'erpkit.wsgi:app'`` on it, and pushes the
same N orders through the JSON API with the seller's and the approver's API tokens:
``POST /api/orders``, ``POST /api/orders/<id>/submit`` and, for an order held for
approval, ``GET /api/approvals/requests?order_id=`` and
``POST /api/approvals/requests/<id>/approve``. Before that, the in-process pipeline
(``workload.run_pipeline``) runs the same orders on a database of its own, so the JSON
gives the request path's orders/s and its share of the in-process rate. Prints one JSON
document. (Not ``http.py``: a script of that name in this folder would stand in for the
standard library's ``http`` package in every benchmark.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    active_plugins,
    build_app,
    dispose_engine,
    emit,
    fresh_database,
    machine,
    migrate,
    progress,
)
from workload import (
    SEED,
    order_specs,
    run_pipeline,
    seed_catalogue,
    status_counts,
)

TARGET_SHARE = 0.7


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--seed", type=int, default=SEED)
    return parser.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tokens(app: Any, catalogue: Any) -> dict[str, str]:
    from erpkit.auth import issue_token
    from erpkit.db import db
    from erpkit.models import User

    with app.app_context():
        session = db.session
        tokens = {name: issue_token(session, session.get(User, user_id), "bench")
                  for name, user_id in (("sales", catalogue.sales_id),
                                        ("approver", catalogue.approver_id))}
        session.commit()
    return tokens


class Api:
    """JSON over one loopback connection per request (gunicorn's sync workers close it)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = None if body is None else json.dumps(body, default=str)
            connection.request(method, path, body=data, headers=self.headers)
            response = connection.getresponse()
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
        finally:
            connection.close()


def _one_order(sales: Api, approver: Api, spec: Any) -> tuple[str, bool]:
    status, order = sales("POST", "/api/orders", {
        "customer_id": spec.customer_id, "channel": "api",
        "lines": [{"product_id": p, "quantity": str(Decimal(q))} for p, q in spec.lines]})
    if status != 201:
        return f"create {status}", False
    status, order = sales("POST", f"/api/orders/{order['id']}/submit")
    if status != 200:
        return f"submit {status}", False
    held = order["status"] == "pending_approval"
    if held:
        status, page = approver("GET", f"/api/approvals/requests?order_id={order['id']}"
                                       "&status=open")
        if status != 200 or not page["items"]:
            return f"find request {status}", held
        status, _ = approver("POST", f"/api/approvals/requests/{page['items'][0]['id']}/approve",
                             {"comment": ""})
        if status != 200:
            return f"approve {status}", held
        status, order = sales("GET", f"/api/orders/{order['id']}")
    return str(order["status"]), held


def _wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped while starting")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within a minute")


def over_http(args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database(args.db) as database:
        migrate(database.url)
        app = build_app(database.url)
        catalogue = seed_catalogue(app)
        tokens = _tokens(app, catalogue)
        plugins = active_plugins(app)
        dispose_engine(app)
        port = _free_port()
        env = {**os.environ, "ERPKIT_DATABASE_URL": database.url,
               "ERPKIT_SECRET_KEY": "bench-secret"}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(
            [str(gunicorn), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
             "--no-control-socket", "--log-level", "warning", "erpkit.wsgi:app"], env=env)
        try:
            _wait_until_up(port, server)
            sales, approver = Api(port, tokens["sales"]), Api(port, tokens["approver"])
            work: queue.Queue[Any] = queue.Queue()
            for spec in order_specs(catalogue, args.orders, args.seed):
                work.put(spec)
            outcomes: Counter[str] = Counter()
            held = Counter[bool]()
            lock = threading.Lock()

            def client() -> None:
                while True:
                    try:
                        spec = work.get_nowait()
                    except queue.Empty:
                        return
                    outcome, was_held = _one_order(sales, approver, spec)
                    with lock:
                        outcomes[outcome] += 1
                        held[was_held] += 1

            progress(f"pushing {args.orders} orders through gunicorn ({args.workers} workers, "
                     f"{args.threads} client threads)")
            threads = [threading.Thread(target=client) for _ in range(args.threads)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
        return {"wall_seconds": round(wall, 3), "orders_per_second": round(args.orders / wall, 1),
                "held_for_approval": held[True], "outcomes": dict(outcomes),
                "status_in_database": status_counts(app), "plugins": plugins,
                "gunicorn_workers": args.workers, "client_threads": args.threads}


def in_process(args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database(args.db) as database:
        migrate(database.url)
        app = build_app(database.url)
        catalogue = seed_catalogue(app)
        progress(f"pushing {args.orders} orders through the pipeline in-process")
        times, wall = run_pipeline(app, catalogue, args.orders, seed=args.seed)
        dispose_engine(app)
        return {"wall_seconds": round(wall, 3), "orders_per_second": round(args.orders / wall, 1),
                "held_for_approval": times.held, "final_status": times.statuses}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result: dict[str, Any] = {"benchmark": "http", "db": args.db, "orders": args.orders,
                              "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    result["in_process"] = in_process(args)
    result["http"] = over_http(args)
    share = result["http"]["orders_per_second"] / result["in_process"]["orders_per_second"]
    result["http_share_of_in_process"] = round(share, 3)
    result["target_share"] = TARGET_SHARE
    result["target_met"] = share >= TARGET_SHARE
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"] = machine()
    emit(result)
    return result


if __name__ == "__main__":
    main()

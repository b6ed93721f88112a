"""What the outbox costs a transition, and how fast one worker delivers webhooks.

    .venv/bin/python bench/webhooks.py --orders 200 --rounds 6 --events 2000 [--db postgresql]

1. Outbox: N orders through the pipeline (create, submit, approve, confirm: the
   orders module alone), in rounds that alternate the outbox on and off (off: the core's
   lifecycle hooks write nothing; the rows are written whether or not a subscription
   exists, so none is needed). The difference of the medians per transition is the
   outbox's cost (its rows, and the wake-up handed to the queue after the commit), in
   wall-clock and in CPU time. Target: under 1 ms per transition.
2. Delivery: E events over 100 orders (lanes) for one subscription, dispatched and sent
   by one worker (huey, 8 threads, in this process) to a receiver in a process of its
   own (a threaded http.server answering 200), ``streaming`` (events written while the
   worker runs, timed from the first) and ``backlog`` (written first, timed from the
   worker's start). Target: at least 200 webhooks/s.

The sender is urllib3 (a connection pool per endpoint, keep-alive). Prints one JSON
document.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import textwrap
import time
from typing import Any

import sqlalchemy as sa
from _common import active_plugins, build_app, emit, fresh_database, machine, migrate, progress
from workload import run_pipeline, seed_catalogue

PLUGINS = ["orders"]
TRANSITION_TARGET_MS = 1.0
DELIVERY_TARGET = 200.0

RECEIVER = textwrap.dedent("""
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle on, the second waits for the
        # client's delayed ACK (40 ms a request). Real servers set TCP_NODELAY too.
        disable_nagle_algorithm = True
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
""")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="orders per outbox round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds with and without")
    parser.add_argument("--events", type=int, default=2000, help="webhooks to deliver")
    parser.add_argument("--threads", type=int, default=8, help="the worker's threads")
    parser.add_argument("--skip-outbox", action="store_true", help="delivery only")
    parser.add_argument("--skip-delivery", action="store_true", help="the outbox only")
    parser.add_argument("--modes", default="streaming,backlog",
                        help="delivery runs: streaming (written while delivered), backlog")
    parser.add_argument("--repeat", type=int, default=1, help="delivery runs of each mode")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    return parser.parse_args(argv)


def _outbox_rows(app: Any) -> int:
    from erpkit.db import db
    from erpkit.webhook_models import OutboxEvent

    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)))


def outbox_cost(app: Any, catalogue: Any, orders: int, rounds: int) -> dict[str, Any]:
    """Wall-clock and CPU time per order with and without the outbox, alternating rounds
    (with first, then without first, ...) so both see the same load."""
    import erpkit.outbox as outbox

    writing = outbox._order_event
    wall: dict[str, list[float]] = {"with": [], "without": []}
    cpu: dict[str, list[float]] = {"with": [], "without": []}
    events = 0
    for number in range(rounds):
        for mode in ("with", "without") if number % 2 == 0 else ("without", "with"):
            outbox._order_event = writing if mode == "with" else (lambda *a, **k: None)
            before = _outbox_rows(app)
            times, seconds = run_pipeline(app, catalogue, orders, seed=number * 7 + 1,
                                          report_every=10**9)
            wall[mode].append(seconds / orders)
            cpu[mode].append(times.cpu_seconds / orders)
            if mode == "with":
                events += _outbox_rows(app) - before
            progress(f"  round {number + 1} {mode} outbox: {orders / seconds:.0f} orders/s, "
                     f"{times.cpu_seconds * 1000 / orders:.2f} ms CPU an order")
    outbox._order_event = writing
    # create, then submit (-> approved -> confirmed in the same transaction): two
    # transitions (transactions) an order with the orders module alone
    transitions_per_order = 2

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    wall_cost = (ms(wall["with"]) - ms(wall["without"])) / transitions_per_order
    cpu_cost = (ms(cpu["with"]) - ms(cpu["without"])) / transitions_per_order
    spread = [round((max(wall[m]) - min(wall[m])) * 1000, 3) for m in ("with", "without")]
    return {
        "orders_per_round": orders, "rounds": rounds,
        "ms_per_order_with_outbox": round(ms(wall["with"]), 3),
        "ms_per_order_without_outbox": round(ms(wall["without"]), 3),
        "cpu_ms_per_order_with_outbox": round(ms(cpu["with"]), 3),
        "cpu_ms_per_order_without_outbox": round(ms(cpu["without"]), 3),
        "wall_ms_per_order_spread_of_rounds_with_without": spread,
        "transitions_per_order": transitions_per_order,
        "events_per_order": round(events / (orders * rounds), 2),
        "outbox_ms_per_transition": round(wall_cost, 3),
        "outbox_cpu_ms_per_transition": round(cpu_cost, 3),
        "target_ms": TRANSITION_TARGET_MS, "met": wall_cost < TRANSITION_TARGET_MS,
        # SQLite runs in this process, so its CPU time is the database's too; a
        # PostgreSQL server's is not counted
        "cpu_includes_database": str(app.config["DATABASE_URL"]).startswith("sqlite"),
    }


def _cpu_seconds_of(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` so far (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _database_cpu_seconds(app: Any) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this database (same machine;
    empty on SQLite, whose work is this process's)."""
    from erpkit.db import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return {}
        pids = db.session.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).all()
        db.session.rollback()
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # ended meanwhile, or on another machine
            found[pid] = _cpu_seconds_of(pid)
    return found


def _write_events(app: Any, events: int, lanes: int) -> None:
    from erpkit.db import db
    from erpkit.events import ORDER_EVENTS
    from erpkit.outbox import emit as write_event

    event = ORDER_EVENTS["erpkit_order_confirmed"]
    with app.app_context():
        for n in range(events):
            write_event(db.session, event, {
                "order_id": n % lanes + 1, "number": f"SO-{n}", "status": "confirmed",
                "transition": "confirm"}, order_id=n % lanes + 1)
            if n % 100 == 99:
                db.session.commit()
        db.session.commit()


def _delivered(app: Any) -> int:
    from erpkit.db import db
    from erpkit.webhook_models import WebhookDelivery

    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)
                                  .where(WebhookDelivery.status == "delivered"))
        db.session.rollback()
        return int(count)


def delivery_rate(app: Any, events: int, threads: int, mode: str,
                  lanes: int = 100) -> dict[str, Any]:
    """``streaming``: the events are written (100 a transaction) while the worker runs,
    timed from the first write. ``backlog``: written first, then the worker is started
    and timed until all are delivered."""
    from erpkit.db import db
    from erpkit.jobs import jobs_of, start_embedded_worker
    from erpkit.webhook_models import (
        OutboxEvent,
        WebhookAttempt,
        WebhookDelivery,
        WebhookSubscription,
    )
    from erpkit.webhooks import subscribe

    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE,
                                text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        with app.app_context():
            registry = app.extensions["erpkit"]
            for name, value in (("allow_http", True), ("allowed_networks", ["127.0.0.0/8"])):
                registry.parameters.set(db.session, f"core.webhooks_{name}", value,
                                        actor="bench")
            for table in (WebhookAttempt, WebhookDelivery, WebhookSubscription, OutboxEvent):
                db.session.execute(sa.delete(table))
            subscribe(db.session, registry, url=f"http://127.0.0.1:{port}/hooks",
                      events=["*"])
            db.session.commit()
        service = jobs_of(app)
        service.huey.flush()
        load_before = os.getloadavg()
        written = 0.0
        if mode == "backlog":
            _write_events(app, events, lanes)
        cpu_started, receiver_started = time.process_time(), _cpu_seconds_of(receiver.pid)
        database_started = _database_cpu_seconds(app)
        started = time.perf_counter()
        consumer = start_embedded_worker(app, workers=threads)
        try:
            if mode == "streaming":
                _write_events(app, events, lanes)
                written = time.perf_counter() - started
            delivered = 0
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                delivered = _delivered(app)
                if delivered >= events:
                    break
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            receiver_cpu = _cpu_seconds_of(receiver.pid) - receiver_started
            database_cpu = sum(seconds - database_started.get(pid, 0.0)
                               for pid, seconds in _database_cpu_seconds(app).items())
        finally:
            consumer.stop(graceful=True)
    finally:
        receiver.terminate()
        receiver.wait(10)
    rate = delivered / seconds
    return {"mode": mode, "events": events, "delivered": delivered, "worker_threads": threads,
            "lanes": lanes, "seconds_to_write_events": round(written, 3),
            "seconds_until_all_delivered": round(seconds, 3),
            "webhooks_per_second": round(rate, 1), "target": DELIVERY_TARGET,
            "met": delivered >= events and rate >= DELIVERY_TARGET,
            # CPU of this process (writer, if streaming, and worker) and of the receiver
            "cpu_ms_per_webhook": round(cpu * 1000 / max(delivered, 1), 3),
            "receiver_cpu_ms_per_webhook": round(receiver_cpu * 1000 / max(delivered, 1), 3),
            # the PostgreSQL backends serving this database (0 on SQLite: in-process)
            "database_cpu_ms_per_webhook": round(database_cpu * 1000 / max(delivered, 1), 3),
            # what one fully available core could deliver at this CPU cost (all three)
            "webhooks_per_cpu_second": round(delivered / max(
                cpu + receiver_cpu + database_cpu, 1e-9), 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "http_client": "urllib3 (pooled, keep-alive)"}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result: dict[str, Any] = {"benchmark": "webhooks", "db": args.db}
    with fresh_database(args.db) as database:
        progress(f"migrating a fresh {args.db} database")
        migrate(database.url, PLUGINS)
        app = build_app(database.url, PLUGINS)
        result["plugins"] = active_plugins(app)
        catalogue = seed_catalogue(app)
        if not args.skip_outbox:
            progress("outbox: pipeline rounds with and without it")
            result["outbox"] = outbox_cost(app, catalogue, args.orders, args.rounds)
        result["delivery"] = []
        for mode in [] if args.skip_delivery else args.modes.split(","):
            for run in range(args.repeat):
                progress(f"delivery ({mode}, run {run + 1}): {args.events} webhooks, one worker")
                result["delivery"].append(delivery_rate(app, args.events, args.threads, mode))
                progress(f"  {result['delivery'][-1]['webhooks_per_second']} webhooks/s")
        from erpkit.db import db

        with app.app_context():
            db.engine.dispose()
    result["machine"] = machine()
    emit(result)
    return result


if __name__ == "__main__":
    main()

"""Fixtures of the webhook tests: an app with the orders module alone (its lifecycle
writes the events), a small catalogue, and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from erpkit.db import db
from erpkit.testing import plugin_fixtures
from erpkit_orders.catalogue import create_customer, create_product

database_url, app, make_app = plugin_fixtures({"orders"}, "webhooks")


@dataclass
class Received:
    headers: dict[str, str]
    body: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server: records every request; answers ``statuses`` in turn, then
    ``then`` (200 unless told)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    then: int = 200
    delay: float = 0.0  # seconds before each answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.then

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < count:
            time.sleep(0.02)
        return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the sender's pool expects
        disable_nagle_algorithm = True  # else each answer waits for a delayed ACK (40 ms)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            with found.lock:
                found.requests.append(Received(dict(self.headers.items()), body))
            status = found.answer()
            if found.delay:
                time.sleep(found.delay)
            reply = b'{"ok": true}' if status < 300 else b"receiver is down"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def set_parameters(app: Flask, **values: Any) -> None:
    with app.app_context():
        parameters = app.extensions["erpkit"].parameters
        for name, value in values.items():
            parameters.set(db.session, f"core.webhooks_{name}", value, actor="test")
        db.session.commit()


@pytest.fixture
def local_receivers_allowed(app: Flask) -> None:
    """The tests' receivers are plain http on loopback: allowed explicitly, with retries
    at once (the schedule of production waits minutes)."""
    set_parameters(app, allow_http=True, allowed_networks=["127.0.0.0/8"],
                   retry_schedule=[0, 0, 0, 0], timeout_seconds=5)


@dataclass
class Catalogue:
    widget: int
    customer: int


@pytest.fixture
def catalogue(app: Flask) -> Catalogue:
    with app.app_context():
        widget = create_product(db.session, {"sku": "W-1", "name": "Widget",
                                             "unit_price": Decimal("12.50"),
                                             "max_quantity": Decimal(100)})
        ada = create_customer(db.session, {"name": "Ada Ltd", "email": "ada@example.com",
                                           "country": "GB"})
        db.session.commit()
        return Catalogue(widget.id, ada.id)


def order_body(catalogue: Catalogue) -> dict[str, Any]:
    return {"customer_id": catalogue.customer, "channel": "web",
            "lines": [{"sku": "W-1", "quantity": "4"}]}


Wait = Callable[[Callable[[], Any]], Any]


def wait_until(condition: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return condition()

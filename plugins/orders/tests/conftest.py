"""Fixtures of the orders tests: an app with the orders module alone, a small catalogue,
API clients acting as one role each, and throwaway in-process plugins.

The orders module needs only the core, so its tests run it alone: other installed
plugins (inventory refusing to confirm without stock, approval rules) never change what
these tests see. The database is migrated with the core and the orders branch only.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

import erpkit.testing
from erpkit.db import db
from erpkit.testing import ApiClient, plugin_fixtures
from erpkit_orders.catalogue import create_customer, create_product

#: The orders module needs only the core: its tests run it alone.
database_url, app, make_app = plugin_fixtures({"orders"}, "orders")


def make_plugin(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """An in-process plugin requiring orders, implementing ``hooks`` (name -> function)."""
    return erpkit.testing.make_plugin(name, requires=("orders",), **hooks)


@pytest.fixture
def sales(as_role: Callable[[str], ApiClient]) -> ApiClient:
    return as_role("sales")


@pytest.fixture
def admin(as_role: Callable[[str], ApiClient]) -> ApiClient:
    return as_role("admin")


@dataclass
class Catalogue:
    widget: int  # W-1, 12.50, 1 to 100 per order
    bottles: int  # BOX-6, sold in packs of 6, 6 to 60 per order
    retired: int  # OLD-1, inactive
    customer: int  # Ada Ltd, ada@example.com
    other_customer: int  # Bob GmbH


@pytest.fixture
def catalogue(app: Flask) -> Catalogue:
    with app.app_context():
        session = db.session
        widget = create_product(session, {"sku": "W-1", "name": "Widget",
                                          "unit_price": Decimal("12.50"),
                                          "max_quantity": Decimal(100)})
        bottles = create_product(session, {"sku": "BOX-6", "name": "Bottles",
                                           "unit_price": Decimal("2.00"),
                                           "pack_size": Decimal(6), "min_quantity": Decimal(6),
                                           "max_quantity": Decimal(60)})
        retired = create_product(session, {"sku": "OLD-1", "name": "Old thing",
                                           "unit_price": Decimal("1.00"), "active": False})
        ada = create_customer(session, {"name": "Ada Ltd", "email": "ada@example.com",
                                        "country": "GB"})
        bob = create_customer(session, {"name": "Bob GmbH", "email": "bob@example.com",
                                        "country": "DE"})
        return Catalogue(widget.id, bottles.id, retired.id, ada.id, bob.id)


def order_body(catalogue: Catalogue, **overrides: Any) -> dict[str, Any]:
    """A valid create-order body: 4 widgets for Ada through the web channel."""
    return {"customer_id": catalogue.customer, "channel": "web",
            "lines": [{"sku": "W-1", "quantity": "4"}], **overrides}


@pytest.fixture
def erpkit_cli(monkeypatch, database_url):
    """Run ``erpkit ...`` in-process on the tests' database with the orders module alone."""
    from erpkit.cli import main

    monkeypatch.setenv("ERPKIT_DATABASE_URL", database_url)
    monkeypatch.setenv("ERPKIT_PLUGINS", "orders")
    apps = []

    def run(*args: str):
        state: dict[str, Any] = {}
        result = CliRunner().invoke(main, list(args), obj=state)
        apps.append(state.get("app"))
        return result

    yield run
    for cli_app in filter(None, apps):
        with cli_app.app_context():
            db.engine.dispose()


def wait_for_import(api: ApiClient, answer: Any, timeout: float = 30.0) -> dict[str, Any]:
    """The import started by ``answer`` (a 202), once its worker has finished it."""
    import time

    assert answer.status_code == 202, answer.json
    location = answer.headers["Location"]
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(location).json
        # The job is marked done just after the import's last commit: wait for both.
        settled = run["job"] is None or run["job"]["status"] in ("done", "failed")
        if (run["status"] in ("done", "failed") and settled) or time.monotonic() > deadline:
            return dict(run)
        time.sleep(0.05)


@pytest.fixture
def upload(worker: Any) -> Callable[..., Any]:
    """``upload(api, path, text_or_bytes, **query)``: post a CSV to an import endpoint and
    wait for the worker (a real one, in this process) to finish it; returns the import."""
    import io

    def send(api: ApiClient, path: str, content: str | bytes, filename: str = "upload.csv",
             **query: Any) -> dict[str, Any]:
        data = content.encode() if isinstance(content, str) else content
        answer = api.post(path, query_string=query, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(data), filename)})
        if answer.status_code != 202:
            return {"status_code": answer.status_code, **(answer.json or {})}
        return wait_for_import(api, answer)

    return send

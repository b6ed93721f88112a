"""Fixtures of the orders tests: an app with the orders module alone, a small catalogue,
API clients acting as one role each, and throwaway in-process plugins.

The orders module needs only the core, so its tests run it alone: other installed
plugins (inventory refusing to confirm without stock, approval rules) never change what
these tests see. The database is migrated with the core and the orders branch only.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from erpkit import PluginMeta, auth, hookimpl
from erpkit.app import create_app
from erpkit.auth import ensure_builtin_roles
from erpkit.db import Base, db
from erpkit.migrate import upgrade
from erpkit.plugins import load_plugins
from erpkit_orders.catalogue import create_customer, create_product

ONLY_ORDERS = {"orders"}


@pytest.fixture(scope="session")
def database_url(new_database: Any) -> str:
    """The orders tests' database: core and orders branches at head."""
    url = new_database("orders")
    upgrade(load_plugins(ONLY_ORDERS), url)
    return url


def _config(database_url: str, plugins: list[Any], **config: Any) -> dict[str, Any]:
    names = sorted(ONLY_ORDERS | {p.PLUGIN.name for p in plugins})
    return {"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret",
            "PLUGINS": names, "EXTRA_PLUGINS": plugins, **config}


@pytest.fixture(autouse=True)
def _clean_tables(app: Flask) -> None:
    """Every orders test starts from empty tables plus the built-in roles.

    Overrides the suite's fixture to DELETE rather than TRUNCATE: the tables hold a few
    rows, and on PostgreSQL a TRUNCATE of every table costs about 0.35 s a test.
    """
    with app.app_context():
        with db.engine.begin() as connection:
            present = set(sa.inspect(connection).get_table_names())
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in present:
                    connection.execute(table.delete())
        registry = app.extensions["erpkit"]
        ensure_builtin_roles(db.session, list(registry.permissions.values()))
        db.session.commit()


@pytest.fixture(autouse=True)
def _cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests log in with API tokens only: skip the deliberately slow password hash."""
    monkeypatch.setattr(auth, "hash_password",
                        lambda password: generate_password_hash(password, "pbkdf2:sha256:1"))


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    application = create_app(_config(database_url, []))
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """``make_app(plugin, ...)``: another app on the same database with in-process plugins
    registered beside the orders module."""
    made: list[Flask] = []

    def make(*plugins: Any, **config: Any) -> Flask:
        application = create_app(_config(database_url, list(plugins), **config))
        made.append(application)
        return application

    yield make
    for application in made:
        with application.app_context():
            db.engine.dispose()


def make_plugin(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """An in-process plugin requiring orders, implementing ``hooks`` (name -> function).

    Each function is rebound to the plugin module's globals, so the core attributes what
    it raises to the plugin, as it does for the code of an installed plugin.
    """
    module = types.ModuleType(f"inprocess_{name}")
    module.PLUGIN = PluginMeta(name=name, requires=("orders",))  # type: ignore[attr-defined]
    for hook_name, function in hooks.items():
        own = types.FunctionType(function.__code__,
                                 {**function.__globals__, "__name__": module.__name__},
                                 hook_name, function.__defaults__, function.__closure__)
        setattr(module, hook_name, hookimpl(own))
    return module


class ApiClient:
    """A test client that sends one user's bearer token with every request."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def _send(self, method: str, path: str, headers: dict[str, str] | None = None,
              **kwargs: Any) -> Any:
        return self.client.open(path, method=method, headers={**self.headers, **(headers or {})},
                                **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._send("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._send("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self._send("PATCH", path, **kwargs)


@pytest.fixture
def as_role(client: FlaskClient, users: Any) -> Callable[[str], ApiClient]:
    """``as_role("sales")``: a client acting as a user with that built-in role."""
    return lambda role: ApiClient(client, users.headers(role))


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

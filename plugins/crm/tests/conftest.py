"""Fixtures of the crm tests: an app with orders and crm alone (no inventory, no approvals:
what an integrator installing just these runs), a small shop driven through the real
services, and a command-line runner."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from erpkit.db import db
from erpkit.plugins import current_registry
from erpkit.testing import PASSWORD, plugin_fixtures
from erpkit_orders import lifecycle
from erpkit_orders.catalogue import create_customer, create_product
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order

ENABLED = {"orders", "crm"}

#: Orders and crm only.
database_url, app, make_app = plugin_fixtures(ENABLED, "crm")


class Shop:
    """Products, customers and orders through the real services; every call commits."""

    def __init__(self, session: sa.orm.Session) -> None:
        self.session = session
        self.products: dict[str, int] = {}
        for sku, price in (("SHIRT", "40.00"), ("TIE", "25.00"), ("SUIT", "400.00")):
            self.products[sku] = create_product(session, {
                "sku": sku, "name": sku.title(), "unit_price": Decimal(price)}).id
        session.commit()

    def customer(self, name: str = "Ada Ltd", **data: Any) -> Customer:
        customer = create_customer(self.session, {"name": name, "email":
                                                  f"{name.split()[0].lower()}@example.com",
                                                  "country": "GB", **data})
        self.session.commit()
        return customer

    def set(self, name: str, value: Any) -> None:
        current_registry().parameters.set(self.session, name, value, actor="test")
        self.session.commit()

    def order(self, customer: Customer | int, lines: Mapping[str, Any], *,
              submit: bool = True) -> Order:
        """An order of ``{sku: quantity}``; submitted unless told otherwise."""
        customer_id = customer if isinstance(customer, int) else customer.id
        intake = create_order(self.session, {
            "customer_id": customer_id, "channel": "web",
            "lines": [{"sku": sku, "quantity": Decimal(str(q))} for sku, q in lines.items()]})
        order = intake.order
        if submit:
            order = lifecycle.submit(self.session, order, actor="sales")
        return order

    def status(self, order: Order | int) -> str:
        order_id = order if isinstance(order, int) else order.id
        found = self.session.scalar(sa.select(Order.status).where(Order.id == order_id))
        self.session.commit()
        return str(found)


@pytest.fixture
def shop(session: sa.orm.Session) -> Shop:
    """SHIRT 40.00, TIE 25.00, SUIT 400.00."""
    return Shop(session)


_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


@pytest.fixture
def console(client: FlaskClient, users: Any) -> Callable[[str], FlaskClient]:
    """``console("sales")``: the test client logged in to the console as a user with that
    role (through the login form)."""

    def log_in(role: str) -> FlaskClient:
        users.create(f"{role}-user", role)
        page = client.get("/login").get_data(as_text=True)
        token = _CSRF_FIELD.search(page)
        assert token, "the login page has no csrf_token"
        answer = client.post("/login", data={"login": f"{role}-user", "password": PASSWORD,
                                              "csrf_token": token.group(1)})
        assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
        return client

    return log_in


@pytest.fixture
def cli(database_url: str, session: sa.orm.Session,
        monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``cli("crm", "segments", "recompute")`` runs ``erpkit ...`` on the test database
    with orders and crm enabled, after the test's session committed."""
    from click.testing import CliRunner

    from erpkit.cli import main

    def run(*args: str) -> Any:
        session.commit()
        monkeypatch.setenv("ERPKIT_DATABASE_URL", database_url)
        monkeypatch.setenv("ERPKIT_PLUGINS", ",".join(sorted(ENABLED)))
        state: dict[str, Any] = {}
        result = CliRunner().invoke(main, list(args), obj=state)
        if "app" in state:
            with state["app"].app_context():
                db.engine.dispose()
        return result

    return run


def delivered_history(shop: Any, customer: Any, days_ago_and_lines: Any) -> None:
    """Delivered orders placed ``days_ago`` (ordered_at moved back, as history would)."""
    for days_ago, lines in days_ago_and_lines:
        order = shop.order(customer, lines)
        lifecycle.ship(shop.session, order.id, actor="warehouse")
        lifecycle.deliver(shop.session, order.id, actor="warehouse")
        shop.session.execute(sa.update(Order).where(Order.id == order.id).values(
            ordered_at=datetime.now(UTC) - timedelta(days=days_ago)))
        shop.session.commit()

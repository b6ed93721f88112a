"""Fixtures of the approvals tests: an app with the orders and approvals modules, a small
catalogue, people with roles, and API clients acting as each of them.

Only orders and approvals are enabled (inventory, say, would refuse to confirm orders
without stock and change what these tests see). Orders are created and submitted through
the orders API, rules through the approvals API, like a client would.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

import erpkit.testing
from erpkit import registry_of
from erpkit.db import db
from erpkit.models import Role, User
from erpkit.testing import plugin_fixtures
from erpkit_orders.catalogue import create_customer, create_product

PASSWORD = "secret-pass"  # what tests/conftest.py's users.create gives everyone

#: Orders and approvals only: inventory, say, would refuse to confirm orders without stock.
database_url, app, make_app = plugin_fixtures({"orders", "approvals"}, "approvals")


def make_plugin(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """An in-process plugin requiring orders, implementing ``hooks`` (name -> function)."""
    return erpkit.testing.make_plugin(name, requires=("orders",), **hooks)


class Api:
    """A test client sending one user's bearer token; JSON in, response out."""

    def __init__(self, client: FlaskClient, login: str, headers: dict[str, str]) -> None:
        self.client, self.login, self.headers = client, login, headers

    def __call__(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.open(path, method=method, headers=self.headers, json=json, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self("POST", path, json=json if json is not None else {}, **kwargs)

    def put(self, path: str, json: Any = None) -> Any:
        return self("PUT", path, json=json)

    def patch(self, path: str, json: Any = None) -> Any:
        return self("PATCH", path, json=json)


@pytest.fixture
def as_user(client: FlaskClient, users: Any) -> Callable[..., Api]:
    """``as_user("ann", "approver")``: an API client acting as a new user with those roles."""
    made: dict[str, Api] = {}

    def make(login: str, *roles: str) -> Api:
        if login not in made:
            users.create(login, *(roles or (login,)))
            made[login] = Api(client, login, users.headers(login))
        return made[login]

    return make


@dataclass
class People:
    sales: Api  # sam
    ann: Api  # approvers: ann, bob, cid
    bob: Api
    cid: Api
    admin: Api  # root


@pytest.fixture
def people(as_user: Callable[..., Api]) -> People:
    return People(sales=as_user("sam", "sales"), ann=as_user("ann", "approver"),
                  bob=as_user("bob", "approver"), cid=as_user("cid", "approver"),
                  admin=as_user("root", "admin"))


@dataclass
class Catalogue:
    customer: int  # Ada Ltd, GB, region North


@pytest.fixture
def catalogue(app: Flask) -> Catalogue:
    """``W-1`` (12.50, tools) and ``M-1`` (100.00, machines); one customer."""
    with app.app_context():
        create_product(db.session, {"sku": "W-1", "name": "Widget", "category": "tools",
                                    "unit_price": Decimal("12.50")})
        create_product(db.session, {"sku": "M-1", "name": "Machine", "category": "machines",
                                    "unit_price": Decimal("100.00")})
        ada = create_customer(db.session, {"name": "Ada Ltd", "email": "ada@example.com",
                                           "country": "GB", "region": "North"})
        return Catalogue(ada.id)


def place_order(api: Api, catalogue: Catalogue, machines: int = 1, *, submit: bool = True,
                **overrides: Any) -> dict[str, Any]:
    """Create (and submit) an order of ``machines`` x 100.00 through the orders API."""
    body = {"customer_id": catalogue.customer, "channel": "web",
            "lines": [{"sku": "M-1", "quantity": str(machines)}], **overrides}
    created = api.post("/api/orders", json=body)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    if not submit:
        return order
    submitted = api.post(f"/api/orders/{order['id']}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    return submitted.get_json()


def rule_body(name: str = "Large orders", threshold: str = "1000", **overrides: Any) -> dict:
    """A rule holding orders whose total is over ``threshold`` for one approver."""
    return {"name": name, "priority": 10, "match": "all",
            "conditions": [{"fact": "orders.total", "operator": ">", "value": threshold}],
            "steps": [{"role": "approver", "required": 1, "time_limit": "4h",
                       "breach_action": "remind"}], **overrides}


def request_of(api: Api, order_id: int, status: str | None = "open") -> dict[str, Any]:
    """The order's (open) approval request, as the API shows it."""
    query = f"?order_id={order_id}" + (f"&status={status}" if status else "")
    found = api.get(f"/api/approvals/requests{query}").get_json()["items"]
    assert len(found) == 1, found
    return found[0]


def order_status(api: Api, order_id: int) -> str:
    return str(api.get(f"/api/orders/{order_id}").get_json()["status"])


def set_email(app: Flask, login: str, email: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(User).where(User.login == login).values(email=email))
        db.session.commit()


_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def csrf_token_in(html: str) -> str:
    found = _CSRF_FIELD.search(html)
    assert found, "the page has no form with a csrf_token field"
    return found.group(1)


def log_in(client: FlaskClient, login: str) -> Any:
    """Log in through the console's login form."""
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"login": login, "password": PASSWORD,
                                       "csrf_token": token})


DEPARTMENTS = ("manager", "finance", "warehouse_lead", "quality")


@pytest.fixture
def staff(app, as_user):
    """Who moves orders (root, an admin) and the gates' approvers by role."""
    with app.app_context():
        db.session.add_all(Role(name=name, description=name, permissions=[])
                           for name in DEPARTMENTS)
        # Without the logistics module, express orders come through their own channel.
        registry_of(db.session).parameters.set(
            db.session, "orders.channels", ["web", "express"], actor="tests")
        db.session.commit()
    return {"root": as_user("root", "admin"), "max": as_user("max", "approver", "manager"),
            "fay": as_user("fay", "approver", "finance"),
            "liz": as_user("liz", "approver", "warehouse_lead"),
            "sam": as_user("sam", "sales")}


def gate_rule(name: str, gate: str, role: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    return rule_body(name, gate=gate, conditions=list(conditions),
                     steps=[{"role": role, "required": 1, "time_limit": "4h"}])


def total_over(amount: str) -> dict[str, Any]:
    return {"fact": "orders.total", "operator": ">", "value": amount}

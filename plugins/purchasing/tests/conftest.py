"""Fixtures of the purchasing tests: orders, inventory and purchasing alone, and a shop
driven through the real services (products, warehouses, suppliers, stock, demand)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from erpkit.db import utcnow
from erpkit.testing import PASSWORD, Users, plugin_fixtures
from erpkit_inventory import replenishment, stock
from erpkit_inventory.models import StockLevel, Warehouse
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order, Product
from erpkit_purchasing import suppliers
from erpkit_purchasing.models import Supplier

ENABLED = {"orders", "inventory", "purchasing"}

database_url, app, make_app = plugin_fixtures(ENABLED, "purchasing")


def q(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.001"))


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


class Shop:
    """Every method commits, like a request would."""

    def __init__(self, session: sa.orm.Session) -> None:
        self.session = session
        self.customer = Customer(name="Ada Ltd", email="ada@example.com", country="GB")
        session.add(self.customer)
        session.commit()

    def product(self, sku: str) -> Product:
        product = Product(sku=sku, name=f"Product {sku}", unit_price=Decimal("10.00"))
        self.session.add(product)
        self.session.commit()
        return product

    def warehouse(self, code: str) -> Warehouse:
        warehouse = Warehouse(code=code, name=f"Warehouse {code}")
        self.session.add(warehouse)
        self.session.commit()
        return warehouse

    def supplier(self, code: str, email: str | None = None) -> Supplier:
        made = suppliers.create_supplier(self.session, code=code, name=f"Supplier {code}",
                                         email=email,
                                         contacts=[{"name": f"{code} sales", "role": "sales"}])
        self.session.commit()
        return made

    def offer(self, supplier: Supplier, sku: str, **terms: Any) -> None:
        terms.setdefault("price", Decimal("2.50"))
        suppliers.offer(self.session, supplier, sku, **terms)
        self.session.commit()

    def receive(self, sku: str, code: str, amount: Any) -> None:
        stock.receive(self.session, stock.product_by_sku(self.session, sku),
                      stock.warehouse_by_code(self.session, code), amount, actor="test")
        self.session.commit()

    def ship(self, sku: str, code: str, amount: Any, day: date) -> None:
        """Demand on ``day``: a shipment out of ``code`` (stock received first)."""
        product = stock.product_by_sku(self.session, sku)
        warehouse = self.session.scalar(sa.select(Warehouse).where(Warehouse.code == code))
        stock.ensure_levels(self.session, [(product.id, warehouse.id)])
        level = next(level for level in stock.lock_levels(self.session, [product.id])
                     if level.warehouse_id == warehouse.id)
        stock.apply_change(self.session, level, "receipt", on_hand=q(amount), actor="test",
                           reason="history")
        entry = stock.apply_change(self.session, level, "shipment", on_hand=-q(amount),
                                   actor="test", reason="history")
        entry.at = noon(day)
        self.session.commit()

    def book(self, sku: str, code: str, kind: str, change: Any, at: datetime) -> None:
        """One ledger row of ``kind`` changing on hand by ``change``, dated ``at``."""
        product = stock.product_by_sku(self.session, sku)
        warehouse = stock.warehouse_by_code(self.session, code)
        stock.ensure_levels(self.session, [(product.id, warehouse.id)])
        level = next(level for level in stock.lock_levels(self.session, [product.id])
                     if level.warehouse_id == warehouse.id)
        entry = stock.apply_change(self.session, level, kind, on_hand=q(change), actor="test",
                                   reason="history")
        entry.at = at
        self.session.flush()

    def set(self, name: str, value: Any) -> None:
        from erpkit.plugins import current_registry

        current_registry().parameters.set(self.session, name, value, actor="test")
        self.session.commit()

    def order(self, lines: Mapping[str, Any]) -> Order:
        intake = create_order(self.session, {
            "customer_id": self.customer.id, "channel": "web",
            "lines": [{"sku": sku, "quantity": Decimal(str(amount))}
                      for sku, amount in lines.items()]})
        order = lifecycle.submit(self.session, intake.order, actor="sales")
        self.session.commit()
        return order

    def on_hand(self, sku: str, code: str) -> Decimal:
        row = self.session.scalar(
            sa.select(StockLevel.on_hand).join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.sku == sku, Warehouse.code == code))
        self.session.commit()
        return q(row or 0)


@pytest.fixture
def shop(session: sa.orm.Session) -> Shop:
    return Shop(session)


def days_before(today: date, count: int) -> list[date]:
    """The ``count`` days ending on ``today``, oldest first."""
    return [today - timedelta(days=count - 1 - i) for i in range(count)]


CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def log_in(client: FlaskClient, users: Users, login: str, role: str) -> FlaskClient:
    """``client`` logged in to the console as a new user ``login`` with ``role``."""
    users.create(login, role)
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"login": login, "password": PASSWORD,
                                         "csrf_token": CSRF.search(page).group(1)})
    assert answer.status_code in (302, 303)
    return client


@pytest.fixture
def cli(app: Any, session: sa.orm.Session) -> Callable[..., Any]:
    """``cli("purchasing", "figures")`` runs ``erpkit purchasing figures`` in the test's
    app, after the test's session committed."""
    from click.testing import CliRunner

    from erpkit.cli import main

    def run(*args: str) -> Any:
        session.commit()  # SQLite: a transaction left open would hold the write lock
        return CliRunner().invoke(main, list(args), obj={"app": app})

    return run


#: The kettles' history: days of demand before the simulated period, and in it.
WARM_UP, PERIOD = 30, 40


@pytest.fixture
def kettles(shop):
    """K-1 in MAIN: 70 days of random demand (recorded as shipments, so on hand stays at
    the 12 received before), a rule with a cycle stock of 10, ACME delivering in 3 days
    in packs of 5 with a minimum of 10."""
    today = utcnow().date()
    product = shop.product("K-1")
    main = shop.warehouse("MAIN")
    acme = shop.supplier("ACME")
    shop.offer(acme, "K-1", price=Decimal("4.00"), pack_size=q(5), min_order_quantity=q(10),
               lead_time_days=3, preferred=True)
    replenishment.set_rule(shop.session, product.id, main.id, reorder_point=q(2),
                           order_up_to=q(12), lead_time_days=3)
    shop.session.commit()
    shop.set("inventory.demand_window_days", 14)
    rng = random.Random(11)
    days = days_before(today - timedelta(days=1), WARM_UP + PERIOD)
    shop.book("K-1", "MAIN", "receipt", q(12), noon(days[0] - timedelta(days=1)))
    demand = []
    for day in days:
        amount = q(rng.choice([0, 0, 1, 2, 3, 4, 6, 9]))
        demand.append(amount)
        if amount:
            shop.book("K-1", "MAIN", "receipt", amount, noon(day) - timedelta(hours=1))
            shop.book("K-1", "MAIN", "shipment", -amount, noon(day))
    shop.session.commit()
    return days[WARM_UP], days[-1], demand

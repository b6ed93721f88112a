"""Fixtures of the inventory tests: an app with the orders and inventory modules alone,
and a small shop (products, a customer, two warehouses) driven through the real services.

Only orders and inventory are enabled, so other installed plugins (approval rules holding
orders) never change what these tests see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from erpkit.db import db
from erpkit.testing import plugin_fixtures
from erpkit_inventory import stock
from erpkit_inventory.models import LedgerEntry, Reservation, StockLevel, Warehouse
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order, Product

ENABLED = {"orders", "inventory"}


#: Orders and inventory only: what an integrator installing just these two runs.
database_url, app, make_app = plugin_fixtures(ENABLED, "inventory")


def q(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.001"))


class Shop:
    """A catalogue, a customer and warehouses, changed through the real services.

    Every method commits, like a request would; ``session`` is the test's own session.
    """

    def __init__(self, session: sa.orm.Session) -> None:
        self.session = session
        self.customer = Customer(name="Ada Ltd", email="ada@example.com", country="GB")
        session.add(self.customer)
        session.commit()

    def product(self, sku: str, *, pack_size: Any = 1) -> Product:
        product = Product(sku=sku, name=f"Product {sku}", unit_price=Decimal("10.00"),
                          pack_size=Decimal(pack_size), min_quantity=Decimal(pack_size))
        self.session.add(product)
        self.session.commit()
        return product

    def warehouse(self, code: str) -> Warehouse:
        warehouse = Warehouse(code=code, name=f"Warehouse {code}")
        self.session.add(warehouse)
        self.session.commit()
        return warehouse

    def receive(self, sku: str, code: str, amount: Any) -> None:
        stock.receive(self.session, stock.product_by_sku(self.session, sku),
                      stock.warehouse_by_code(self.session, code), amount, actor="receiver",
                      reason="test receipt")
        self.session.commit()

    def set(self, name: str, value: Any) -> None:
        from erpkit.plugins import current_registry

        current_registry().parameters.set(self.session, name, value, actor="test")
        self.session.commit()

    def order(self, lines: Mapping[str, Any], *, submit: bool = True) -> Order:
        """An order of ``{sku: quantity}``; submitted (so confirmed, with auto-confirm on)."""
        intake = create_order(self.session, {
            "customer_id": self.customer.id, "channel": "web",
            "lines": [{"sku": sku, "quantity": Decimal(str(amount))}
                      for sku, amount in lines.items()]})
        if submit:
            lifecycle.submit(self.session, intake.order, actor="sales")
        return intake.order

    def level(self, sku: str, code: str) -> tuple[Decimal, Decimal]:
        """(on hand, reserved) of a level, read fresh from the database."""
        row = self.session.execute(
            sa.select(StockLevel.on_hand, StockLevel.reserved)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.sku == sku, Warehouse.code == code)).one_or_none()
        self.session.commit()  # never hold SQLite's write lock while a request runs
        return (q(row.on_hand), q(row.reserved)) if row else (q(0), q(0))

    def ledger(self, order: Order | None = None) -> list[tuple[str, str, str, Decimal, Decimal]]:
        """(kind, sku, warehouse, on hand change, reserved change), oldest first."""
        query = (sa.select(LedgerEntry.kind, Product.sku, Warehouse.code,
                           LedgerEntry.on_hand_change, LedgerEntry.reserved_change)
                 .join(Product, Product.id == LedgerEntry.product_id)
                 .join(Warehouse, Warehouse.id == LedgerEntry.warehouse_id)
                 .order_by(LedgerEntry.id))
        if order is not None:
            query = query.where(LedgerEntry.order_id == order.id)
        found = [(k, s, w, q(a), q(b)) for k, s, w, a, b in self.session.execute(query)]
        self.session.commit()
        return found

    def held(self, order: Order) -> dict[tuple[str, str], Decimal]:
        """What the order's reservations still hold, per (sku, warehouse)."""
        rows = self.session.execute(
            sa.select(Product.sku, Warehouse.code, Reservation.quantity)
            .join(Product, Product.id == Reservation.product_id)
            .join(Warehouse, Warehouse.id == Reservation.warehouse_id)
            .where(Reservation.order_id == order.id))
        found = {(s, w): q(amount) for s, w, amount in rows if amount}
        self.session.commit()
        return found

    def status(self, order: Order) -> str:
        found = self.session.scalar(sa.select(Order.status).where(Order.id == order.id))
        self.session.commit()
        return found


@pytest.fixture
def shop(session: sa.orm.Session) -> Shop:
    """Widgets (W-1) and gadgets (G-1) with two warehouses, MAIN and EAST, both empty."""
    made = Shop(session)
    made.product("W-1")
    made.product("G-1")
    made.warehouse("MAIN")
    made.warehouse("EAST")
    return made


@pytest.fixture
def as_role(client: FlaskClient, users: Any) -> Callable[[str], dict[str, str]]:
    """``as_role("warehouse")``: authorization headers of a user with that role."""
    return users.headers


@pytest.fixture
def cli(database_url: str, session: sa.orm.Session,
        monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``cli("inventory", "check")`` runs ``erpkit inventory check`` on the test database
    with orders and inventory enabled, after the test's session committed."""
    from click.testing import CliRunner

    from erpkit.cli import main

    def run(*args: str) -> Any:
        session.commit()  # SQLite: a transaction left open would hold the write lock
        monkeypatch.setenv("ERPKIT_DATABASE_URL", database_url)
        monkeypatch.setenv("ERPKIT_PLUGINS", ",".join(sorted(ENABLED)))
        state: dict[str, Any] = {}
        result = CliRunner().invoke(main, list(args), obj=state)
        if "app" in state:
            with state["app"].app_context():
                db.engine.dispose()
        return result

    return run

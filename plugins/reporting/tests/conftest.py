"""Fixtures of the reporting tests: an app with orders and reporting alone, and a generated
company: live orders moved through the real lifecycle (the hooks keep the rollups), and
orders of earlier years written as a history import writes them (no hooks).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit.testing import plugin_fixtures
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order, OrderLine, Product, TimelineEvent
from erpkit_orders.pricing import recompute_totals

database_url, app, make_app = plugin_fixtures({"orders", "reporting"}, "reporting")

COUNTRIES = (("DE", "Bavaria"), ("DE", "Saxony"), ("FR", "Bretagne"), ("GB", None))
CATEGORIES = ("tools", "garden", "paint")
CHANNELS = ("web", "phone", "email")


@dataclass
class Company:
    products: list[Product] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    live: list[int] = field(default_factory=list)
    history: list[int] = field(default_factory=list)
    customer_ids: list[int] = field(default_factory=list)


def _catalogue(session: Any, rng: random.Random) -> Company:
    company = Company()
    for index in range(12):
        product = Product(sku=f"P{index:02d}", name=f"Product {index}",
                          unit_price=Decimal(rng.randint(100, 99999)) / 100 + Decimal("0.0049"),
                          category=CATEGORIES[index % 3], pack_size=Decimal("0.25"),
                          min_quantity=Decimal("0.25"))
        session.add(product)
        company.products.append(product)
    for index in range(9):
        country, region = COUNTRIES[index % len(COUNTRIES)]
        customer = Customer(name=f"Customer {index}", email=f"c{index}@example.com",
                            country=country, region=region, code=f"C{index}")
        session.add(customer)
        company.customers.append(customer)
    session.commit()
    return company


def _lines(company: Company, rng: random.Random) -> list[dict[str, Any]]:
    return [{"sku": product.sku, "quantity": Decimal(rng.randint(1, 40)) / 4,
             "discount_percent": Decimal(rng.choice([0, 0, 5, 12.5, 33.3]))}
            for product in rng.sample(company.products, rng.randint(1, 4))]


def live_orders(session: Any, company: Company, rng: random.Random, count: int = 24) -> None:
    """Orders today, through the real services: each ends in a different status."""
    fates = ("draft", "confirmed", "shipped", "partial", "delivered", "returned", "cancelled",
             "closed")
    for index in range(count):
        customer = rng.choice(company.customers)
        data: dict[str, Any] = {"customer_id": customer.id, "channel": rng.choice(CHANNELS),
                                "lines": _lines(company, rng)}
        if index % 3 == 0:
            data["requested_date"] = date.today() + timedelta(days=rng.choice([-1, 5]))
        order = create_order(session, data).order
        fate = fates[index % len(fates)]
        if fate != "draft":
            lifecycle.submit(session, order)
        if fate == "partial":
            first = order.lines[0]
            lifecycle.ship(session, order, quantities={first.id: first.quantity / 2})
        if fate in ("shipped", "delivered", "returned", "closed"):
            lifecycle.ship(session, order)
        if fate in ("delivered", "returned", "closed"):
            lifecycle.deliver(session, order)
        if fate == "returned":
            lifecycle.return_order(session, order)
        if fate == "closed":
            lifecycle.close(session, order)
        if fate == "cancelled":
            lifecycle.cancel(session, order)
        session.commit()
        company.live.append(order.id)


HISTORY_PATHS = {
    "closed": ("draft", "submitted", "approved", "confirmed", "shipped", "delivered", "closed"),
    "returned": ("draft", "submitted", "approved", "confirmed", "shipped", "delivered",
                 "returned"),
    "cancelled": ("draft", "submitted", "approved", "confirmed", "cancelled"),
    "rejected": ("draft", "submitted", "pending_approval", "rejected"),
}


def history_orders(session: Any, company: Company, rng: random.Random, count: int = 80) -> None:
    """Orders of the last two years as an import of history writes them: dated in the past,
    in their final status, with their timeline (some without), and no hook fired."""
    start = datetime.now(UTC) - timedelta(days=700)
    for index in range(count):
        customer = rng.choice(company.customers)
        ordered = start + timedelta(days=rng.randint(0, 690), seconds=rng.randint(0, 86399))
        status = rng.choice(["closed"] * 6 + ["returned", "cancelled", "rejected"])
        order = Order(number=f"H{index:05d}", channel=rng.choice(CHANNELS),
                      customer_id=customer.id, currency="EUR", status=status,
                      ordered_at=ordered, created_at=ordered, imported_as_history=True,
                      shipping_charge=Decimal(rng.choice([0, 495, 1290])) / 100,
                      ship_to_country="FR" if index % 7 == 0 else None,
                      requested_date=(ordered + timedelta(days=3)).date() if index % 2 else None)
        for line_no, item in enumerate(_lines(company, rng), start=1):
            product = next(p for p in company.products if p.sku == item["sku"])
            order.lines.append(OrderLine(line_no=line_no, product_id=product.id,
                                         product=product, quantity=item["quantity"],
                                         unit_price=product.unit_price,
                                         discount_percent=item["discount_percent"]))
        recompute_totals(order)
        path = HISTORY_PATHS[status]
        at = ordered
        events = []
        for position, entered in enumerate(path):
            if position:
                at += timedelta(hours=rng.randint(1, 90))
            events.append((entered, at))
            if entered == "shipped":
                order.shipped_at = at
            if entered == "delivered":
                order.delivered_at = at
        order.status_changed_at = at
        session.add(order)
        session.flush()
        if index % 5:  # some old systems kept no history of the steps
            for position, (entered, at) in enumerate(events):
                session.add(TimelineEvent(order_id=order.id, at=at, kind="status",
                                          from_status=events[position - 1][0] if position
                                          else None, to_status=entered, message=entered))
        company.history.append(order.id)
    session.commit()


@pytest.fixture
def company(app: Any) -> Company:
    """A generated company: 80 history orders (then a rebuild) and 24 live ones."""
    from erpkit_reporting.rebuild import rebuild

    rng = random.Random(17)
    with app.app_context():
        session = db.session
        made = _catalogue(session, rng)
        history_orders(session, made, rng)
        rebuild(session)
        session.commit()
        live_orders(session, made, rng)
        made.customer_ids = [customer.id for customer in made.customers]
        return made


@pytest.fixture
def orders(app: Any, company: Company) -> list[Any]:
    """The generated company's orders as the independent oracle reads them."""
    from . import oracle

    with app.app_context():
        return oracle.load(db.session)


def migrate_again_from(app: Any, database_url: str, revision: str) -> list[str]:
    """Downgrade reporting to ``revision`` and upgrade to head again, as a database with
    orders in it is upgraded; the tables there were at ``revision``."""
    from alembic import command

    from erpkit.migrate import alembic_config, upgrade
    from erpkit.plugins import load_plugins

    registry = load_plugins({"orders", "reporting"})
    with app.app_context():
        db.session.commit()
        db.engine.dispose()
    command.downgrade(alembic_config(registry, database_url), revision)
    with app.app_context():
        tables = sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
    upgrade(registry, database_url)
    return tables


def all_orders(session: Any) -> list[Order]:
    return list(session.scalars(sa.select(Order).order_by(Order.id)))


@pytest.fixture
def cli(app: Any, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cli("report", "sales", "--format", "json")`` runs ``erpkit ...`` on the test
    database with orders and reporting enabled."""
    from click.testing import CliRunner

    from erpkit.cli import main

    def run(*args: str) -> Any:
        with app.app_context():
            db.session.commit()
        monkeypatch.setenv("ERPKIT_DATABASE_URL", database_url)
        monkeypatch.setenv("ERPKIT_PLUGINS", "orders,reporting")
        state: dict[str, Any] = {}
        result = CliRunner().invoke(main, list(args), obj=state)
        if "app" in state:
            with state["app"].app_context():
                db.engine.dispose()
        return result

    return run


# -- the browser: erpkit.testing's ``chromium`` and ``live_url`` fixtures -----------------



"""Fixtures of the logistics tests: an app with the orders and logistics modules alone (no
inventory, no approvals), and a small shipping set-up driven through the real services.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from time import monotonic, sleep
from typing import Any

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from erpkit.db import db, utcnow
from erpkit.service_models import JobRun
from erpkit.testing import PASSWORD, artifact_folder, plugin_fixtures
from erpkit_logistics import promise_records, promise_review, shipments
from erpkit_logistics.models import (
    BusinessCalendar,
    Carrier,
    CarrierService,
    LogisticsShipment,
    MadeToOrder,
    OrderPromise,
    ProductShipping,
    ShippingRate,
    StatusMapping,
    TransitTime,
    WorkCentre,
    Zone,
)
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order, Product, TimelineEvent

ENABLED = {"orders", "logistics"}

#: Orders and logistics only: what an integrator installing just these two runs.
database_url, app, make_app = plugin_fixtures(ENABLED, "logistics")

SECRET = "whsec_" + base64.b64encode(b"parcel-express-test-secret-32by").decode()
#: Parcel Express's status codes and what they mean here.
CODES = {"PU": "handed_to_carrier", "TR": "in_transit", "OD": "out_for_delivery",
         "DL": "delivered", "EX": "exception", "RT": "returned"}


def sign(body: str, *, secret: str = SECRET, msg_id: str = "msg_1",
         at: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for ``body``, as a carrier sends them."""
    at = at or utcnow()
    signature = Webhook(secret).sign(msg_id, at, body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature, "Content-Type": "application/json"}


class World:
    """Carriers, zones, rates, products, a customer; orders made and moved through the
    real services. Every method commits, like a request would."""

    def __init__(self, session: sa.orm.Session) -> None:
        self.session = session
        self.carrier = Carrier(code="PX", name="Parcel Express", webhook_secret=SECRET)
        self.fleet = Carrier(code="OWN", name="Own vans", own_fleet=True)
        session.add_all([self.carrier, self.fleet])
        session.flush()
        self.standard = CarrierService(carrier_id=self.carrier.id, code="standard",
                                       name="Standard", pickup_cutoff=time(16, 0))
        self.express = CarrierService(carrier_id=self.carrier.id, code="express",
                                      name="Express")
        self.van = CarrierService(carrier_id=self.fleet.id, code="van", name="Van")
        self.de = Zone(code="DE", name="Germany", country="DE")
        self.bavaria = Zone(code="DE-BY", name="Bavaria", country="DE", region="Bayern")
        self.munich = Zone(code="DE-80", name="Munich", country="DE", postal_prefix="80")
        session.add_all([self.standard, self.express, self.van, self.de, self.bavaria,
                         self.munich])
        session.flush()
        for code, status in CODES.items():
            session.add(StatusMapping(carrier_id=self.carrier.id, carrier_code=code,
                                      status=status))
        session.add_all([
            TransitTime(service_id=self.standard.id, zone_id=self.de.id, days=2),
            ShippingRate(service_id=self.standard.id, zone_id=None, basis="weight",
                         up_to=Decimal(5), price=Decimal("4.90")),
            ShippingRate(service_id=self.standard.id, zone_id=None, basis="weight",
                         up_to=None, price=Decimal("9.90"), free_above=Decimal("500.00")),
            ShippingRate(service_id=self.standard.id, zone_id=self.munich.id, basis="weight",
                         up_to=Decimal(5), price=Decimal("3.50")),
            ShippingRate(service_id=self.express.id, zone_id=None, basis="value",
                         up_to=Decimal(100), price=Decimal("12.00")),
            ShippingRate(service_id=self.express.id, zone_id=None, basis="value",
                         up_to=None, price=Decimal("15.00")),
            ShippingRate(service_id=self.van.id, zone_id=None, basis="weight", up_to=None,
                         price=Decimal("0.00")),
        ])
        self.customer = Customer(name="Ada Ltd", email="ada@example.com", country="DE",
                                 region="Berlin", postal_code="10115", city="Berlin",
                                 address="Hauptstr. 1")
        session.add(self.customer)
        session.commit()
        self.products: dict[str, Product] = {}
        self.set("logistics.default_service", "PX/standard")

    def product(self, sku: str, weight: Any, price: Any = "10.00") -> Product:
        product = Product(sku=sku, name=f"Product {sku}", unit_price=Decimal(price))
        self.session.add(product)
        self.session.flush()
        self.session.add(ProductShipping(product_id=product.id, weight_kg=Decimal(weight)))
        self.session.commit()
        self.products[sku] = product
        return product

    def set(self, name: str, value: Any) -> None:
        from erpkit.plugins import current_registry

        current_registry().parameters.set(self.session, name, value, actor="test")
        self.session.commit()

    def order(self, lines: Mapping[str, Any], *, confirm: bool = True,
              customer: Customer | None = None) -> Order:
        """An order of ``{sku: quantity}`` (the service: logistics.default_service)."""
        intake = create_order(self.session, {
            "customer_id": (customer or self.customer).id, "channel": "web",
            "lines": [{"sku": sku, "quantity": Decimal(str(q))} for sku, q in lines.items()]})
        order = intake.order
        if confirm:
            lifecycle.submit(self.session, order.id)
            assert self.refresh(order).status == "confirmed"
        return order

    def refresh(self, obj: Any) -> Any:
        self.session.expire_all()
        return self.session.get(type(obj), obj.id)

    def shipment(self, order: Order, quantities: Mapping[int, Any] | None = None,
                 **kwargs: Any) -> LogisticsShipment:
        from erpkit.plugins import current_registry

        return shipments.create_shipment(
            self.session, current_registry(), order.id,
            quantities={k: Decimal(str(v)) for k, v in quantities.items()}
            if quantities else None, actor="picker", **kwargs)

    def ready(self, shipment: LogisticsShipment, tracking: str,
              weight: Any = "2.5") -> LogisticsShipment:
        """Picked and packed in one package with ``tracking``."""
        shipments.pick(self.session, shipment.id, actor="picker")
        return shipments.pack(self.session, shipment.id,
                              [{"weight_kg": Decimal(str(weight)), "tracking": tracking}],
                              actor="packer")

    def handed_over(self, order: Order, tracking: str, **kwargs: Any) -> LogisticsShipment:
        shipment = self.ready(self.shipment(order, **kwargs), tracking)
        return shipments.hand_over(self.session, shipment.id, actor="packer")


@pytest.fixture
def world(session: sa.orm.Session) -> World:
    return World(session)


def at(text: str) -> datetime:
    """A moment in UTC from ``2026-12-04T10:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def bavaria(world: World) -> World:
    """The world with calendars: the warehouse MAIN, the carrier PX and the work centre
    WC-1 work Monday to Friday in Bavaria (DE/BY), 08:00-17:00 UTC; a product W-1."""
    session = world.session
    for scope, subject in (("warehouse", "MAIN"), ("carrier", "PX"), ("work_centre", "WC-1")):
        session.add(BusinessCalendar(scope=scope, subject=subject, country="DE",
                                     subdivision="BY", working_days="01234",
                                     opens=time(8), closes=time(17)))
    session.commit()
    world.product("W-1", "1.0")
    return world


def webhook_body(*events: Mapping[str, Any]) -> str:
    return json.dumps({"events": list(events)})


def db_session() -> sa.orm.Session:
    return db.session


@pytest.fixture
def cli(database_url: str, session: sa.orm.Session,
        monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cli("logistics", "events", "import", path)`` runs ``erpkit ...`` on the test
    database with orders and logistics enabled, after the test's session committed."""
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


def made_to_order(world: Any, capacity: str = "5", lead_days: int = 3) -> WorkCentre:
    """The work centre WC-1 making CHAIR to order, ``capacity`` a day, ``lead_days``
    working days of production."""
    centre = WorkCentre(code="WC-1", name="Workshop", daily_capacity=Decimal(capacity))
    world.session.add(centre)
    world.session.flush()
    chair = world.product("CHAIR", "8.0")
    world.session.add(MadeToOrder(product_id=chair.id, work_centre_id=centre.id,
                                  lead_days=lead_days))
    world.session.commit()
    return centre


# --- the browser ------------------------------------------------------------------------


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Any:
    """``shots(page, name)``: numbered full-page screenshots in
    test-artifacts/<backend>/logistics-console/<test>/."""
    folder = artifact_folder(request.config.rootpath, "logistics-console", request.node.name)
    count = [0]

    def shot(page, name):
        count[0] += 1
        page.screenshot(path=str(folder / f"{count[0]:02d}-{name}.png"), full_page=True)

    return shot


def log_in(browser: Any, base: str, login: str, viewport: tuple[int, int] = (1280, 900)) -> Any:
    """A page logged in to the console as ``login``."""
    context = browser.new_context(base_url=base,
                                  viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")
    return page


# --- promises reviewed by the worker ----------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``clock("2026-12-04T10:00")`` sets the time the promises are worked out at."""

    def set_to(text: str) -> None:
        for module in (promise_records, promise_review):
            monkeypatch.setattr(module, "utcnow", lambda: at(text))

    return set_to


# Each read ends its transaction at once: on SQLite an open one holds the write lock
# the worker's jobs (the e-mail) need.


def revisions(world: Any, order_id: int) -> list[tuple[date, str]]:
    world.session.expire_all()
    found = [(row.promised_date, row.reason) for row in world.session.scalars(
        sa.select(OrderPromise).where(OrderPromise.order_id == order_id,
                                      OrderPromise.stage == "revised")
        .order_by(OrderPromise.id))]
    world.session.rollback()
    return found


def public_notes(world: Any, order_id: int) -> list[str]:
    found = list(world.session.scalars(sa.select(TimelineEvent.message).where(
        TimelineEvent.order_id == order_id, TimelineEvent.public.is_(True),
        TimelineEvent.source == "logistics")))
    world.session.rollback()
    return found


def promised(world: Any, order_id: int) -> date | None:
    found = world.session.scalar(sa.select(Order.promised_date).where(Order.id == order_id))
    world.session.rollback()
    return found


def wait_for_jobs(world: Any, name: str, count: int = 1, timeout: float = 20,
                  ids: tuple[int, ...] = ()) -> None:
    """Until ``count`` runs of job ``name`` (those of ``ids`` when given) are done; a
    failed one fails the test. (The worker's scheduler runs periodic tasks of its own.)"""
    deadline = monotonic() + timeout
    while monotonic() < deadline:
        world.session.rollback()
        query = sa.select(JobRun.status, JobRun.last_error).where(
            JobRun.name == name, JobRun.status.in_(("done", "failed")))
        runs = world.session.execute(query.where(JobRun.id.in_(ids)) if ids else query).all()
        world.session.rollback()  # SQLite: end the read at once, the worker writes
        assert [error for status, error in runs if status == "failed"] == []
        if len(runs) >= count:
            return
        sleep(0.05)
    raise AssertionError(f"job {name} did not finish")


def mail_body(raw: str) -> str:
    """The text of a message the SMTP fixture received (decoded: no line wrapping)."""
    from email import message_from_string, policy

    message = message_from_string(raw, policy=policy.default)
    return str(message.get_content())  # type: ignore[attr-defined]

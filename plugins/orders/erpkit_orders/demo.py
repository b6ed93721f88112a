"""Demo records: a small catalogue, customers in several countries, and orders in every
stage of their life, all made through the same service functions users go through."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import TransitionRefused, ValidationFailed
from erpkit.db import utcnow
from erpkit_orders import lifecycle
from erpkit_orders.catalogue import create_customer, create_product
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order, Product, TimelineEvent

# sku, name, category, unit price, unit, pack size, min, max
PRODUCTS = [
    ("FX-100", "Wood screws 4x40 (box of 100)", "fasteners", "6.90", "box", 1, 1, 200),
    ("FX-110", "Wall plugs 8 mm", "fasteners", "0.05", "piece", 50, 50, 5000),
    ("FX-120", "Hex bolts M8x60", "fasteners", "0.32", "piece", 25, 25, 2500),
    ("FX-130", "Washers M8", "fasteners", "0.04", "piece", 100, 100, 10000),
    ("TL-200", "Cordless drill 18 V", "tools", "129.00", "unit", 1, 1, 20),
    ("TL-210", "Claw hammer 450 g", "tools", "18.50", "unit", 1, 1, 50),
    ("TL-220", "Tape measure 5 m", "tools", "7.95", "unit", 1, 1, 100),
    ("TL-230", "Spirit level 60 cm", "tools", "24.00", "unit", 1, 1, 40),
    ("PK-300", "Shipping box 40x30x20", "packaging", "0.85", "piece", 10, 10, 2000),
    ("PK-310", "Packing tape 50 m", "packaging", "2.10", "roll", 6, 6, 600),
    ("PK-320", "Bubble wrap 1x50 m", "packaging", "19.90", "roll", 1, 1, 100),
    ("PK-330", "Pallet stretch film", "packaging", "14.75", "roll", 1, 1, 80),
    ("OF-400", "Copy paper A4 (ream)", "office", "4.60", "ream", 5, 5, 500),
    ("OF-410", "Ballpoint pens blue (box of 50)", "office", "9.80", "box", 1, 1, 100),
    ("OF-420", "Lever arch file", "office", "3.20", "unit", 1, 1, 300),
    ("EL-500", "Extension lead 4-way", "electrical", "12.40", "unit", 1, 1, 100),
    ("EL-510", "LED bulb E27 9 W", "electrical", "2.95", "unit", 10, 10, 1000),
    ("EL-520", "Cable ties 200 mm (bag)", "electrical", "3.50", "bag", 1, 1, 400),
    ("EL-530", "Work light 30 W", "electrical", "39.00", "unit", 1, 1, 30),
    ("EL-540", "Halogen bulb G9 (discontinued)", "electrical", "1.80", "unit", 1, 1, None),
]

# name, email, phone, region, country, street, city, postcode
CUSTOMERS = [
    ("Harbour Joinery Ltd", "orders@harbourjoinery.example", "+44 20 7946 0101", "London",
     "GB", "12 Wharf Road", "London", "E1 7AA"),
    ("Nordlicht Bau GmbH", "einkauf@nordlicht-bau.example", "+49 30 901820", "Berlin", "DE",
     "Müllerstraße 40", "Berlin", "13353"),
    ("Atelier Dubois SARL", "achats@atelier-dubois.example", "+33 1 70 18 99 00",
     "Île-de-France", "FR", "8 rue des Artisans", "Paris", "75011"),
    ("Van Dijk Installaties BV", "inkoop@vandijk.example", "+31 20 555 0199",
     "Noord-Holland", "NL", "Keizersgracht 88", "Amsterdam", "1015 CS"),
    ("Construcciones Sol SL", "compras@consol.example", "+34 91 555 0123", "Madrid", "ES",
     "Calle Mayor 21", "Madrid", "28013"),
    ("Officina Rossi Srl", "ordini@officinarossi.example", "+39 02 5550 1234", "Lombardia",
     "IT", "Via Torino 5", "Milano", "20123"),
    ("Lakeside Hardware Inc", "purchasing@lakeside.example", "+1 312 555 0142", "Illinois",
     "US", "400 N Lake Shore Dr", "Chicago", "60611"),
    ("Fjällbyggen AB", "inkop@fjallbyggen.example", "+46 8 555 010 00", "Stockholm", "SE",
     "Sveavägen 10", "Stockholm", "111 57"),
    ("Warsztat Nowak", "zamowienia@nowak.example", "+48 22 555 01 23", "Mazowieckie", "PL",
     "ul. Prosta 3", "Warszawa", "00-838"),
    ("Liffey Fit-Out Ltd", "accounts@liffeyfitout.example", "+353 1 555 0110", "Leinster",
     "IE", "3 Quay Street", "Dublin", "D02 X285"),
]

#: How far each demo order goes in its life; 30 orders in all.
GOALS = (["draft"] * 5 + ["confirmed"] * 5 + ["partially_shipped"] * 3 + ["shipped"] * 4
         + ["delivered"] * 4 + ["closed"] * 4 + ["cancelled"] * 3 + ["returned"] * 2)
CHANNELS = ["web", "store", "phone", "email", "api"]


def load_catalogue(session: Session) -> bool:
    """Create the demo products and customers unless products exist already; return
    whether it did."""
    if session.scalar(sa.select(Product.id).limit(1)) is not None:
        return False
    products = [_product(session, row) for row in PRODUCTS]
    for row in CUSTOMERS:
        _customer(session, row)
    _product_retired(session, products[-1])
    return True


def load_orders(session: Session, users: Mapping[str, Any]) -> None:
    """Create the demo orders and walk each to its goal through the lifecycle."""
    sellable = list(session.scalars(sa.select(Product).where(
        Product.active.is_(True), Product.max_quantity.is_not(None)).order_by(Product.id)))
    customers = list(session.scalars(sa.select(Customer).order_by(Customer.id)))
    rng = random.Random(2026)
    for index, goal in enumerate(GOALS):
        picked = rng.sample(sellable, rng.randint(1, 4))
        data = {
            "customer_id": customers[index % len(customers)].id,
            "channel": CHANNELS[index % len(CHANNELS)],
            "requested_date": (utcnow() + timedelta(days=rng.randint(3, 30))).date(),
            "lines": [{"sku": p.sku, "quantity": p.pack_size * rng.randint(1, 4),
                       "discount_percent": Decimal(rng.choice([0, 0, 0, 5, 10]))}
                      for p in picked],
        }
        try:
            order = create_order(session, data, actor=users.get("sales")).order
            _walk(session, order, goal, users)
        except (TransitionRefused, ValidationFailed):
            continue  # another plugin held the order back (approval, stock): leave it there
    session.commit()


def _product(session: Session, row: tuple[Any, ...]) -> Product:
    sku, name, category, price, unit, pack, low, high = row
    return create_product(session, {
        "sku": sku, "name": name, "category": category, "unit_price": Decimal(price),
        "unit": unit, "pack_size": Decimal(pack), "min_quantity": Decimal(low),
        "max_quantity": Decimal(high) if high is not None else None})


def _product_retired(session: Session, product: Product) -> None:
    product.active = False
    session.commit()


def _customer(session: Session, row: tuple[str, ...]) -> Any:
    name, email, phone, region, country, street, city, postcode = row
    return create_customer(session, {
        "name": name, "email": email, "phone": phone, "region": region, "country": country,
        "addresses": [{"kind": "shipping", "line1": street, "city": city,
                       "postcode": postcode, "country": country}]})


def _walk(session: Session, order: Order, goal: str, users: Mapping[str, Any]) -> None:
    sales, warehouse = users.get("sales"), users.get("warehouse")
    logistics = users.get("logistics")
    if goal == "draft":
        return
    if goal == "cancelled" and order.id % 2:
        lifecycle.cancel(session, order, actor=sales, reason="customer changed their mind")
        return
    lifecycle.submit(session, order, actor=sales)
    if order.status != lifecycle.Status.CONFIRMED:
        return
    if goal == "cancelled":
        lifecycle.cancel(session, order, actor=sales, reason="duplicate order")
        return
    if goal == "confirmed":
        return
    tracking = f"TRK{order.id:08d}"
    if goal == "partially_shipped":
        first = max(order.lines, key=lambda line: line.quantity)
        part = max(first.quantity // 2, Decimal(1))
        lifecycle.ship(session, order, actor=warehouse, quantities={first.id: part},
                       tracking=tracking)
        return
    lifecycle.ship(session, order, actor=warehouse, tracking=tracking)
    if goal == "shipped":
        return
    lifecycle.deliver(session, order, actor=logistics)
    if goal == "closed":
        lifecycle.close(session, order, actor=sales)
    elif goal == "returned":
        lifecycle.return_order(session, order, actor=logistics, reason="arrived damaged")


def make_one_order_late(session: Session) -> Order | None:
    """Date one confirmed order's confirmation three days back, so the demo shows a step
    past its time limit (confirmed -> shipped, 48h) that the workers' sweep escalates."""
    order = session.scalar(sa.select(Order).where(Order.status == lifecycle.Status.CONFIRMED)
                           .order_by(Order.id).limit(1))
    if order is None:
        return None
    back = utcnow() - timedelta(days=3)
    session.execute(sa.update(TimelineEvent).where(
        TimelineEvent.order_id == order.id, TimelineEvent.at >= order.created_at)
        .values(at=back))
    order.created_at = order.status_changed_at = back
    session.commit()
    return order

"""The demo data: made through the service functions, loaded once."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from erpkit.db import db
from erpkit.demo import load_demo
from erpkit_orders.models import Customer, Order, Product, TimelineEvent


def _counts() -> tuple[int, int, Counter]:
    products = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
    customers = db.session.scalar(sa.select(sa.func.count()).select_from(Customer))
    statuses = Counter(db.session.scalars(sa.select(Order.status)))
    return products, customers, statuses


def test_the_demo_has_a_catalogue_customers_and_orders_in_every_stage(app_context):
    load_demo("demo")

    products, customers, statuses = _counts()
    assert products == 20
    assert customers == 10
    assert sum(statuses.values()) == 30
    assert set(statuses) == {"draft", "confirmed", "partially_shipped", "shipped",
                             "delivered", "closed", "cancelled", "returned"}
    countries = set(db.session.scalars(sa.select(Customer.country)))
    assert len(countries) == 10
    categories = set(db.session.scalars(sa.select(Product.category)))
    assert len(categories) >= 4
    # made through the lifecycle: every order has its history
    closed = db.session.scalar(sa.select(Order).where(Order.status == "closed").limit(1))
    steps = db.session.scalars(sa.select(TimelineEvent.to_status).where(
        TimelineEvent.order_id == closed.id, TimelineEvent.kind == "status")
        .order_by(TimelineEvent.id)).all()
    assert steps == ["draft", "submitted", "approved", "confirmed", "shipped", "delivered",
                     "closed"]


def test_loading_the_demo_twice_adds_nothing(app_context):
    load_demo("demo")
    first = _counts()

    load_demo("demo")

    assert _counts() == first

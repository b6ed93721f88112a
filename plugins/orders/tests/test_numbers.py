"""Order numbers (from the orders.number_pattern parameter and the core's sequence) and
idempotency keys: unique when orders are created at the same moment."""

from __future__ import annotations

import re
import threading
import time
from decimal import Decimal

from erpkit.db import db, utcnow
from erpkit_orders.intake import create_order

from .conftest import make_plugin, order_body


def test_numbers_follow_the_default_pattern_and_count_up(sales, catalogue):
    numbers = [sales.post("/api/orders", json=order_body(catalogue)).json["number"]
               for _ in range(3)]

    year = utcnow().year
    assert numbers == [f"SO-{year}-000001", f"SO-{year}-000002", f"SO-{year}-000003"]


def test_the_pattern_is_a_parameter(app, client, sales, catalogue):
    with app.app_context():
        app.extensions["erpkit"].parameters.set(
            db.session, "orders.number_pattern", "WEB/{year}/{month:02d}/{seq:04d}", actor="t")
        db.session.commit()

    order = sales.post("/api/orders", json=order_body(catalogue)).json

    now = utcnow()
    assert order["number"] == f"WEB/{now.year}/{now.month:02d}/0001"
    # numbers with slashes still open the customer's status page
    page = client.get(f"/status/{order['number']}", query_string={"token": order["public_token"]})
    assert page.status_code == 200


def test_a_pattern_without_seq_is_refused(admin):
    refused = admin.open("PUT", "/api/settings/orders.number_pattern",
                          json={"value": "SO-{year}"})

    assert refused.status_code == 422, refused.json


def test_orders_created_at_the_same_moment_get_distinct_numbers(make_app, catalogue):
    """Four threads create orders at once; each holds its transaction open a while after
    taking its number (a slow validation), so they really overlap. The sequence row does
    not exist yet when they start, so its creation races too."""

    def erpkit_order_validate(order, session, stage):
        time.sleep(0.2)

    application = make_app(make_plugin("slow", erpkit_order_validate=erpkit_order_validate))
    start = threading.Barrier(4)
    numbers: list[str] = []
    failures: list[BaseException] = []

    def create() -> None:
        try:
            with application.app_context():
                start.wait()
                body = order_body(catalogue, lines=[{"sku": "W-1", "quantity": Decimal(1)}])
                numbers.append(create_order(db.session, body, actor="racer").order.number)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(numbers) == len(set(numbers)) == 4
    assert sorted(int(re.sub(r"\D", "", n)[-6:]) for n in numbers) == [1, 2, 3, 4]


def test_concurrent_retries_with_one_idempotency_key_make_one_order(make_app, catalogue):
    def erpkit_order_validate(order, session, stage):
        time.sleep(0.2)

    application = make_app(make_plugin("slow", erpkit_order_validate=erpkit_order_validate))
    start = threading.Barrier(3)
    results: list[tuple[int, bool]] = []
    failures: list[BaseException] = []

    def create() -> None:
        try:
            with application.app_context():
                start.wait()
                intake = create_order(db.session, order_body(catalogue, lines=[
                    {"sku": "W-1", "quantity": Decimal(1)}]), idempotency_key="retry-1")
                results.append((intake.order.id, intake.created))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=create) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len({order_id for order_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, True]

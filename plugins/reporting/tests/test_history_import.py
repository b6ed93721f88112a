"""Orders imported as history reach the reports: the orders importer announces each batch
(hook ``erpkit_orders_history_imported``) and reporting adds it to its rollups, so a
report right after an import equals an independent computation, with no rebuild."""

from __future__ import annotations

import csv
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit.plugins import registry_of
from erpkit_orders import importer
from erpkit_orders.models import Customer, Order, Product
from erpkit_reporting.models import CustomerFirstSale
from erpkit_reporting.rebuild import check

from . import oracle
from .test_reports_exact import FAR

HEADER = ["order_number", "customer_code", "order_date", "shipped_date", "delivered_date",
          "status", "sku", "quantity", "unit_price", "discount_percent", "shipping_charge"]


def history_file(folder: Path, session: Any, count: int = 40, seed: int = 5) -> Path:
    """A file of ``count`` past orders of the company's customers and products."""
    rng = random.Random(seed)
    codes = sorted(session.scalars(sa.select(Customer.code)))
    skus = sorted(session.scalars(sa.select(Product.sku)))
    start = datetime.now(UTC) - timedelta(days=900)
    rows = []
    for n in range(count):
        ordered = start + timedelta(days=rng.randint(0, 800), hours=rng.randint(0, 23))
        status = rng.choice(["delivered", "delivered", "shipped", "closed", "cancelled",
                             "confirmed"])
        shipped = ordered + timedelta(days=rng.randint(0, 9)) if status in (
            "shipped", "delivered", "closed") else None
        delivered = shipped + timedelta(days=2) if shipped and status != "shipped" else None
        head = {"order_number": f"OLD-{n:04d}",
                "customer_code": rng.choice(codes),
                "order_date": ordered.strftime("%Y-%m-%d %H:%M:%S"),
                "shipped_date": shipped.strftime("%Y-%m-%d %H:%M:%S") if shipped else "",
                "delivered_date": delivered.strftime("%Y-%m-%d") if delivered else "",
                "status": status, "shipping_charge": f"{rng.randint(0, 3000) / 100:.2f}"}
        for sku in rng.sample(skus, rng.randint(1, 3)):
            rows.append({**head, "sku": sku, "quantity": str(rng.randint(1, 30)),
                         "unit_price": f"{rng.randint(100, 50000) / 100:.2f}",
                         "discount_percent": rng.choice(["0", "5", "12.5"])})
    path = folder / "orders.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def imported(app, company, tmp_path, monkeypatch) -> list[int]:
    """The company, then 40 past orders imported by the real importer in batches of 7."""
    monkeypatch.setattr(importer, "BATCH", 7)
    with app.app_context():
        session = db.session
        path = history_file(tmp_path, session)
        before = set(session.scalars(sa.select(Order.id)))
        report = importer.import_orders(session, importer.binary_of_path(str(path)),
                                        registry=registry_of(session))
        assert report.created == 40, report
        return sorted(set(session.scalars(sa.select(Order.id))) - before)


def test_hook_erpkit_orders_history_imported(app, company, tmp_path, monkeypatch):
    """The importer calls the hook once per committed batch with the new orders' ids,
    and the rollups hold them without a rebuild."""
    seen: list[list[int]] = []

    class Listener:
        @staticmethod
        def erpkit_orders_history_imported(session, order_ids):
            assert session.in_transaction()  # the batch's own transaction
            seen.append(list(order_ids))

    from erpkit import hookimpl

    Listener.erpkit_orders_history_imported = hookimpl(
        Listener.erpkit_orders_history_imported)
    monkeypatch.setattr(importer, "BATCH", 7)
    with app.app_context():
        session = db.session
        path = history_file(tmp_path, session, count=20)
        registry = registry_of(session)
        registry.pm.register(Listener, name="history-listener")
        try:
            importer.import_orders(session, importer.binary_of_path(str(path)),
                                   registry=registry)
        finally:
            registry.pm.unregister(name="history-listener")
        written = set(session.scalars(sa.select(Order.id).where(
            Order.external_ref.like("OLD-%"))))
        assert [len(batch) for batch in seen] == [7, 7, 6]
        assert {order_id for batch in seen for order_id in batch} == written
        assert check(session) == []


def test_a_report_after_a_history_import_equals_an_independent_computation(
        app, as_role, imported):
    with app.app_context():
        orders = oracle.load(db.session)
        assert check(db.session) == []
        firsts = dict(db.session.execute(sa.select(CustomerFirstSale.customer_id,
                                                   CustomerFirstSale.day)).all())
    sold = oracle.sales(orders)
    assert {o.id for o in sold} & set(imported), "the import brought sales"
    returned = [o for o in sold if o.returned_on]
    body = as_role("analyst").get("/api/reports/sales",
                                  query_string={**FAR, "by": "year"}).json
    totals = body["totals"]
    assert Decimal(totals["revenue"]) == sum(o.total for o in sold) - sum(
        o.total for o in returned)
    assert Decimal(totals["shipping"]) == sum(o.shipping for o in sold)
    assert totals["orders"] == len(sold)
    customers = Counter(o.customer_id for o in sold)
    assert totals["repeat_customers"] == sum(1 for n in customers.values() if n >= 2)
    first_day: dict[int, Any] = {}
    for o in sold:
        first_day[o.customer_id] = min(first_day.get(o.customer_id, o.day), o.day)
    assert firsts == first_day


def test_report_check_shows_no_drift_after_a_history_import(imported, cli):
    result = cli("report", "check")
    assert result.exit_code == 0, result.output

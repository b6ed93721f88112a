"""Bringing a company's history in: its catalogue, customers and two years of orders.

A generated company (products some of which were discontinued, customers from several
countries, a few hundred orders with dates, statuses, discounts and shipping charges) is
imported from CSV files, and what erpkit then holds is compared with an independent
computation over the same files: plain Python over the CSV rows, in Decimal.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit.work import work_queue
from erpkit_orders.models import Customer, Order, Product, Shipment, TimelineEvent

PRODUCT_HEADER = ["sku", "name", "unit_price", "category", "active", "unit", "min_quantity",
                  "max_quantity", "pack_size", "supplier", "reorder_level"]
CUSTOMER_HEADER = ["code", "name", "email", "phone", "country", "region", "city",
                   "postal_code", "address"]
ORDER_HEADER = ["order_number", "customer_code", "order_date", "required_date",
                "shipped_date", "delivered_date", "status", "sku", "quantity", "unit_price",
                "discount_percent", "ship_to_name", "ship_to_address", "ship_to_city",
                "ship_to_postal_code", "ship_to_country", "carrier", "shipping_charge",
                "salesperson"]
COUNTRIES = ["UK", "USA", "Germany", "France", "DE", "Brazil", "Sweden"]
ISO = {"UK": "GB", "USA": "US", "Germany": "DE", "France": "FR", "DE": "DE", "Brazil": "BR",
       "Sweden": "SE"}
STATUSES = ["delivered"] * 6 + ["shipped", "closed", "cancelled", "confirmed"]
CENT = Decimal("0.01")


@dataclass
class Company:
    products: list[dict[str, str]]
    customers: list[dict[str, str]]
    order_rows: list[dict[str, str]]

    def write(self, folder: Path, encoding: str = "utf-8") -> dict[str, Path]:
        paths = {}
        for name, header, rows in (("products", PRODUCT_HEADER, self.products),
                                   ("customers", CUSTOMER_HEADER, self.customers),
                                   ("orders", ORDER_HEADER, self.order_rows)):
            path = folder / f"{name}.csv"
            with open(path, "w", encoding=encoding, newline="") as out:
                writer = csv.DictWriter(out, header)
                writer.writeheader()
                writer.writerows(rows)
            paths[name] = path
        return paths


def generate_company(seed: int = 13, orders: int = 400) -> Company:
    """A company's exports: catalogue, customers and ``orders`` orders over 2023-2024."""
    rng = random.Random(seed)
    products = [{
        "sku": f"P-{n:03d}", "name": f"Product {n}",
        "unit_price": f"{rng.randint(100, 20000) / 100:.2f}",
        "category": rng.choice(["beverages", "dairy", "grains", "seafood"]),
        "active": "no" if n % 7 == 0 else "yes", "unit": "unit", "min_quantity": "",
        "max_quantity": "", "pack_size": "", "supplier": f"Supplier {n % 5}",
        "reorder_level": str(rng.randint(0, 30))} for n in range(1, 31)]
    customers = [{
        "code": f"{n:05d}", "name": f"Customer {n} Ltd", "email": f"buyer{n}@example.com",
        "phone": f"+44 20 7946 {n:04d}", "country": COUNTRIES[n % len(COUNTRIES)],
        "region": "", "city": f"City {n % 9}", "postal_code": f"{10000 + n}",
        "address": f"{n} High Street"} for n in range(1, 41)]
    rows: list[dict[str, str]] = []
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for n in range(1, orders + 1):
        ordered = start + timedelta(days=rng.randint(0, 729), hours=rng.randint(8, 17))
        status = rng.choice(STATUSES)
        shipped = ordered + timedelta(days=rng.randint(0, 12)) if status in (
            "shipped", "delivered", "closed") else None
        delivered = shipped + timedelta(days=rng.randint(1, 6)) if shipped and status in (
            "delivered", "closed") else None
        customer = rng.choice(customers)
        header = {
            "order_number": str(10247 + n), "customer_code": customer["code"],
            "order_date": ordered.strftime("%Y-%m-%d %H:%M:%S"),
            "required_date": (ordered + timedelta(days=28)).strftime("%Y-%m-%d"),
            "shipped_date": shipped.strftime("%Y-%m-%d %H:%M:%S") if shipped else "",
            "delivered_date": delivered.strftime("%Y-%m-%d") if delivered else "",
            "status": status, "ship_to_name": customer["name"],
            "ship_to_address": customer["address"], "ship_to_city": customer["city"],
            "ship_to_postal_code": customer["postal_code"],
            "ship_to_country": customer["country"],
            "carrier": rng.choice(["Speedy Express", "United Package", "Federal Shipping"]),
            "shipping_charge": f"{rng.randint(0, 50000) / 100:.2f}",
            "salesperson": rng.choice(["Nancy Davolio", "Andrew Fuller", "Janet Leverling"])}
        for product in rng.sample(products, rng.randint(1, 4)):
            # History keeps the price of its day, not today's catalogue price.
            price = Decimal(product["unit_price"]) * Decimal(rng.choice(["0.9", "1", "1.1"]))
            rows.append({**header, "sku": product["sku"], "quantity": str(rng.randint(1, 60)),
                         "unit_price": str(price.quantize(Decimal("0.0001"))),
                         "discount_percent": rng.choice(["0", "5", "10", "12.5", "25"])})
    return Company(products, customers, rows)


# -- the independent computation, over the CSV rows -----------------------------------


def oracle(order_rows: list[dict[str, str]]) -> dict[str, Any]:
    """Totals, revenue per month and days to ship, computed from the file alone."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    heads: dict[str, dict[str, str]] = {}
    for row in order_rows:
        amount = Decimal(row["quantity"]) * Decimal(row["unit_price"])
        net = amount * (100 - Decimal(row["discount_percent"])) / 100
        totals[row["order_number"]] += net.quantize(CENT, rounding=ROUND_HALF_UP)
        heads[row["order_number"]] = row
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    shipping: Decimal = Decimal(0)
    days_to_ship: dict[str, int] = {}
    for number, head in heads.items():
        if head["status"] != "cancelled":
            revenue[head["order_date"][:7]] += totals[number]
            shipping += Decimal(head["shipping_charge"])
        if head["shipped_date"]:
            days_to_ship[number] = (date.fromisoformat(head["shipped_date"][:10])
                                    - date.fromisoformat(head["order_date"][:10])).days
    return {"totals": dict(totals), "revenue": dict(revenue), "shipping": shipping,
            "days_to_ship": days_to_ship, "orders": len(heads)}


def held(app) -> dict[str, Any]:
    """The same figures from what erpkit holds."""
    with app.app_context():
        orders = db.session.execute(sa.select(
            Order.external_ref, Order.total, Order.status, Order.ordered_at, Order.shipped_at,
            Order.shipping_charge)).all()
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    shipping = Decimal(0)
    for order in orders:
        if order.status != "cancelled":
            revenue[order.ordered_at.strftime("%Y-%m")] += order.total
            shipping += order.shipping_charge
    return {"totals": {o.external_ref: o.total for o in orders},
            "revenue": dict(revenue), "shipping": shipping,
            "days_to_ship": {o.external_ref: (o.shipped_at.date() - o.ordered_at.date()).days
                             for o in orders if o.shipped_at is not None},
            "orders": len(orders)}


@pytest.fixture
def company() -> Company:
    return generate_company()


@pytest.fixture
def imported(app, erpkit_cli, company, tmp_path) -> dict[str, Any]:
    paths = company.write(tmp_path)
    results = {name: erpkit_cli(name, "import", str(paths[name]))
               for name in ("products", "customers", "orders")}
    for name, result in results.items():
        assert result.exit_code == 0, (name, result.output)
    return {"paths": paths, "results": results}


def test_a_company_history_gives_the_figures_of_its_files(app, company, imported):
    assert held(app) == oracle(company.order_rows)


def test_its_catalogue_and_customers_come_in_with_codes_and_countries(app, company, imported):
    with app.app_context():
        products = {p.sku: p for p in db.session.scalars(sa.select(Product))}
        customers = {c.code: c for c in db.session.scalars(sa.select(Customer))}
    assert len(products) == 30 and len(customers) == 40
    assert {sku for sku, p in products.items() if not p.active} == {
        "P-007", "P-014", "P-021", "P-028"}
    assert products["P-003"].supplier == "Supplier 3"
    assert customers["00007"].country == ISO[COUNTRIES[7 % len(COUNTRIES)]]
    assert {c.country for c in customers.values()} == set(ISO.values())
    assert "40 customers created, 0 updated" in imported["results"]["customers"].output


def test_historical_orders_keep_their_dates_numbers_and_timeline(app, company, imported):
    first = company.order_rows[0]
    with app.app_context():
        order = db.session.scalar(sa.select(Order).where(
            Order.external_ref == first["order_number"]))
        assert order is not None and order.imported_as_history
        year = first["order_date"][:4]
        assert order.number.startswith(f"SO-{year}-")
        assert order.ordered_at == datetime.fromisoformat(first["order_date"]).replace(
            tzinfo=UTC)
        assert (order.carrier, order.salesperson, order.ship_to_city) == (
            first["carrier"], first["salesperson"], first["ship_to_city"])
        assert order.ship_to_country == ISO[first["ship_to_country"]]
        assert str(order.requested_date) == first["required_date"]
        events = list(db.session.scalars(sa.select(TimelineEvent).where(
            TimelineEvent.order_id == order.id).order_by(TimelineEvent.id)))
        assert events[0].at == order.ordered_at
        if order.shipped_at:
            assert [e.at for e in events if e.to_status == "shipped"] == [order.shipped_at]
            shipment = db.session.scalar(sa.select(Shipment).where(
                Shipment.order_id == order.id))
            assert shipment is not None and shipment.shipped_at == order.shipped_at
        numbers = db.session.scalars(sa.select(Order.number)).all()
    assert len(set(numbers)) == len(numbers)


def test_history_lines_keep_their_prices_and_may_name_discontinued_products(
        app, company, imported):
    discontinued = {"P-007", "P-014", "P-021", "P-028"}
    wanted = {(r["order_number"], r["sku"]): Decimal(r["unit_price"])
              for r in company.order_rows}
    with app.app_context():
        from erpkit_orders.models import OrderLine
        lines = db.session.execute(
            sa.select(Order.external_ref, Product.sku, OrderLine.unit_price)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, OrderLine.product_id == Product.id)).all()
    assert {(ref, sku): price for ref, sku, price in lines} == wanted
    assert any(sku in discontinued for _ref, sku, _price in lines)


def test_history_waits_in_no_work_queue(app, imported, users):
    with app.app_context():
        admin = users.create("boss", "admin")
        assert work_queue(db.session, db.session.merge(admin)) == []


def test_importing_the_company_again_creates_nothing(app, erpkit_cli, company, imported):
    paths = imported["paths"]
    before = held(app)

    again = {name: erpkit_cli(name, "import", str(paths[name]))
             for name in ("products", "customers", "orders")}

    assert "0 products created, 0 updated, 30 unchanged" in again["products"].output
    assert "0 customers created, 0 updated, 40 unchanged" in again["customers"].output
    assert f"0 orders created, {before['orders']} already imported, 0 differing" in \
        again["orders"].output
    assert held(app) == before


def test_a_changed_file_is_reported_as_differing_and_changes_nothing(
        app, erpkit_cli, company, imported, tmp_path):
    before = held(app)
    changed = [dict(row) for row in company.order_rows]
    changed[0]["quantity"] = str(int(changed[0]["quantity"]) + 1)
    number = changed[0]["order_number"]
    (tmp_path / "changed").mkdir()
    paths = Company(company.products, company.customers, changed).write(tmp_path / "changed")

    result = erpkit_cli("orders", "import", str(paths["orders"]))

    assert result.exit_code == 1
    assert f"(order {number}): order: differs from order SO-" in result.output
    assert "quantity" in result.output and "1 differing from an earlier import" in result.output
    assert held(app) == before


def test_a_changed_catalogue_says_what_changed(app, erpkit_cli, company, imported, tmp_path):
    products = [dict(row) for row in company.products]
    products[1]["unit_price"] = "99.99"
    products[2]["active"] = "no"
    (tmp_path / "changed").mkdir()
    paths = Company(products, company.customers, company.order_rows).write(tmp_path / "changed")

    result = erpkit_cli("products", "import", str(paths["products"]))

    assert result.exit_code == 0, result.output
    assert f"P-002 updated (unit_price: {Decimal(company.products[1]['unit_price']):.4f}" \
           f" -> 99.99)" in result.output
    assert "P-003 updated (active: True -> False)" in result.output
    assert "0 products created, 2 updated, 28 unchanged" in result.output


# -- files as spreadsheets write them ----------------------------------------------------


def test_a_windows_1252_file_imports_and_a_wrong_byte_is_named_at_its_row(app, admin,
                                                                          upload):
    text = ("code,name,country,city\n00001,Müller GmbH,Germany,Köln\n"
            "00002,Société Générale,France,Paris\n00003,Café € Co,UK,London\n")
    content = text.encode("cp1252")

    wrong = upload(admin, "/api/customers/import", content)
    right = upload(admin, "/api/customers/import", content, encoding="cp1252")

    assert wrong["status"] == "failed"
    assert wrong["report"]["problems"][0]["line"] == 2
    assert "row 2: byte 0xfc" in wrong["report"]["problems"][0]["message"]
    assert right["status"] == "done", right
    assert right["report"]["created"] == 3
    with app.app_context():
        names = {c.code: (c.name, c.city, c.country)
                 for c in db.session.scalars(sa.select(Customer))}
    assert names == {"00001": ("Müller GmbH", "Köln", "DE"),
                     "00002": ("Société Générale", "Paris", "FR"),
                     "00003": ("Café € Co", "London", "GB")}


def test_a_decimal_comma_file_with_day_first_dates_imports(app, admin, upload):
    products = "sku;name;unit_price\nK-1;Käse;1.234,50\nK-2;Brot;2,25\n"
    customers = "code;name;country\nD1;Bäckerei;Deutschland\n"
    orders = ("order_number;customer_code;order_date;shipped_date;status;sku;quantity;"
              "unit_price;discount_percent;shipping_charge\n"
              "7001;D1;31.01.2024;02.02.2024;shipped;K-1;2;1.200,00;2,5;12,40\n"
              "7001;D1;31.01.2024;02.02.2024;shipped;K-2;10;2,10;0;12,40\n")
    options = {"decimal_comma": "true", "date_format": "%d.%m.%Y"}

    assert upload(admin, "/api/products/import", products, **options)["report"][
        "created"] == 2
    refused = upload(admin, "/api/customers/import", customers, **options)
    assert refused["report"]["errors"][0]["field"] == "country"  # not an English name
    upload(admin, "/api/customers/import", customers.replace("Deutschland", "DE"))
    report = upload(admin, "/api/orders/import", orders, **options)

    assert report["report"]["created"] == 1, report
    with app.app_context():
        order = db.session.scalar(sa.select(Order).where(Order.external_ref == "7001"))
        price = db.session.scalar(sa.select(Product.unit_price).where(Product.sku == "K-1"))
        assert price == Decimal("1234.50")
        assert order.total == Decimal("2340.00") + Decimal("21.00")  # 2400 less 2.5 %, 21
        assert order.shipping_charge == Decimal("12.40")
        assert (order.ordered_at.date(), order.shipped_at.date()) == (
            date(2024, 1, 31), date(2024, 2, 2))
        assert order.number.startswith("SO-2024-")


def test_refused_rows_are_offered_as_a_csv_to_correct(app, admin, upload):
    customers = "code,name,email\n1,Ada,ada@example.com\n2,,bob@example.com\n3,Cy,not-mail\n"

    run = upload(admin, "/api/customers/import", customers)
    download = admin.get(f"/api/imports/{run['id']}/refused.csv")

    assert run["rows_refused"] == 2 and run["report"]["created"] == 1
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [(r["row"], r["key"], r["field"]) for r in rows] == [
        ("3", "2", "name"), ("4", "3", "email")]
    assert "needs name" in rows[0]["reason"]

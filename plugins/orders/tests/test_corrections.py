"""What was imported can be found and corrected: products and customers edited and
switched off (API and console), countries by name, orders found by their old number."""

from __future__ import annotations

import io
from decimal import Decimal

import sqlalchemy as sa

from erpkit.db import db
from erpkit_orders.models import Customer, ImportRun, Order, Product

from .conftest import order_body

HISTORY = ("order_number,customer_email,order_date,shipped_date,sku,quantity,unit_price\n"
           "OLD-4711,ada@example.com,2022-05-03,2022-05-05,W-1,3,11.00\n")




def test_a_product_is_edited_and_switched_off_through_the_api(app, sales, catalogue):
    changed = sales.patch(f"/api/products/{catalogue.widget}",
                          json={"unit_price": "13.00", "supplier": "Acme"})
    off = sales.patch(f"/api/products/{catalogue.widget}", json={"active": False})
    refused = sales.post("/api/orders", json=order_body(catalogue))

    assert changed.status_code == 200, changed.json
    assert (changed.json["unit_price"], changed.json["supplier"]) == ("13.0000", "Acme")
    assert off.json["active"] is False
    assert refused.status_code == 422 and "no longer sold" in refused.json["errors"][0]["message"]


def test_a_product_edit_is_checked_like_a_new_product(sales, catalogue):
    below = sales.patch(f"/api/products/{catalogue.widget}", json={"max_quantity": "0.5"})
    taken = sales.patch(f"/api/products/{catalogue.widget}", json={"sku": "BOX-6"})
    empty = sales.patch(f"/api/products/{catalogue.widget}", json={})

    assert below.status_code == 422 and below.json["errors"][0]["field"] == "max_quantity"
    assert taken.status_code == 422 and taken.json["errors"][0]["field"] == "sku"
    assert empty.status_code == 422
    assert sales.patch("/api/products/999999", json={"name": "x"}).status_code == 404


def test_a_customer_is_edited_and_switched_off_and_takes_no_new_orders(app, sales, catalogue):
    changed = sales.patch(f"/api/customers/{catalogue.customer}",
                          json={"country": "Germany", "city": "Köln", "code": "A-1"})
    off = sales.patch(f"/api/customers/{catalogue.customer}", json={"active": False})
    refused = sales.post("/api/orders", json=order_body(catalogue))

    assert changed.status_code == 200, changed.json
    assert (changed.json["country"], changed.json["city"], changed.json["code"]) == (
        "DE", "Köln", "A-1")
    assert off.json["active"] is False
    assert refused.status_code == 422
    assert refused.json["errors"][0]["message"] == "customer Ada Ltd is inactive"
    listed = sales.get("/api/customers?active=false").json["items"]
    assert [c["id"] for c in listed] == [catalogue.customer]


def test_countries_are_taken_as_iso_codes_or_english_names(sales):
    made = [sales.post("/api/customers", json={"name": f"C {country}", "country": country})
            for country in ("UK", "USA", "Germany", "fr", "NLD")]
    unknown = sales.post("/api/customers", json={"name": "Nowhere", "country": "Atlantis"})

    assert [m.json["country"] for m in made] == ["GB", "US", "DE", "FR", "NL"]
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "country"


def test_two_customers_cannot_share_a_code(sales):
    sales.post("/api/customers", json={"name": "One", "code": "00042"})
    second = sales.post("/api/customers", json={"name": "Two", "code": "00042"})

    assert second.status_code == 422 and second.json["errors"][0]["field"] == "code"
    assert sales.get("/api/customers?code=00042").json["items"][0]["name"] == "One"


def test_an_imported_order_is_found_by_its_old_number(app, sales, catalogue, users, upload):
    assert upload(sales, "/api/orders/import", HISTORY)["report"]["created"] == 1

    found = sales.get("/api/orders?external_ref=OLD-4711").json["items"]
    page = sales.client.get("/admin/orders/?number=OLD-4711",
                            headers=users.headers("sales")).get_data(as_text=True)

    assert len(found) == 1 and found[0]["external_ref"] == "OLD-4711"
    assert found[0]["number"].startswith("SO-2022-")
    assert found[0]["imported_as_history"] is True and found[0]["status"] == "shipped"
    assert f'data-order="{found[0]["number"]}"' in page
    assert sales.get("/api/orders?external_ref=OLD-0000").json["items"] == []


def test_history_fires_no_hook(app, make_app, catalogue):
    from erpkit_orders.csv_reading import CsvOptions
    from erpkit_orders.import_runs import run_import, start_run

    from .conftest import make_plugin

    seen: list[str] = []
    spy = make_plugin("spy", erpkit_order_created=lambda order, transition: seen.append(
        "created"), erpkit_order_shipped=lambda order, shipment, transition: seen.append(
        "shipped"), erpkit_order_validate=lambda order, session, stage: seen.append(stage))
    drafts = HISTORY.replace(",2022-05-05,", ",,")  # no ship date: a draft, to show the spy
    with make_app(spy).app_context():
        history = start_run(db.session, "orders", HISTORY.encode(), CsvOptions())
        assert run_import(db.session, history.id).report["created"] == 1
        assert seen == []
        draft = start_run(db.session, "orders", drafts.replace("OLD-4711", "NEW-1").encode(),
                          CsvOptions())
        assert run_import(db.session, draft.id).report["created"] == 1
    assert seen == ["create", "created"]


# -- the console ---------------------------------------------------------------------------


def test_the_console_edits_and_switches_off_products_and_customers(app, client, users,
                                                                   catalogue):
    headers = users.headers("admin")
    products = client.get("/admin/orders/products/", headers=headers)
    customers = client.get("/admin/orders/customers/", headers=headers)
    edit = client.get(f"/admin/orders/customers/edit/?id={catalogue.customer}",
                      headers=headers)

    assert products.status_code == 200 and "W-1" in products.get_data(as_text=True)
    assert customers.status_code == 200 and "Ada Ltd" in customers.get_data(as_text=True)
    assert edit.status_code == 200 and 'name="active"' in edit.get_data(as_text=True)
    assert client.get("/admin/orders/products/", headers=users.headers("warehouse") | {
        "Accept": "application/json"}).status_code == 403


def test_the_console_uploads_an_import_and_shows_its_report(app, client, users, catalogue,
                                                            worker):
    import time

    headers = users.headers("admin")
    content = b"code,name,country\nK1,Kim,UK\nK2,,USA\n"

    answer = client.post("/admin/orders/imports/", headers=headers,
                         content_type="multipart/form-data",
                         data={"kind": "customers", "encoding": "utf-8",
                               "file": (io.BytesIO(content), "people.csv")})

    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    deadline = time.monotonic() + 30
    while True:
        page = client.get(answer.headers["Location"], headers=headers).get_data(as_text=True)
        if 'badge-success">Done</span>' in page or time.monotonic() > deadline:
            break
        assert 'http-equiv="refresh"' in page  # the page follows the import
        time.sleep(0.05)
    assert 'badge-success">Done</span>' in page
    assert "a new customer needs name" in page and "refused.csv" in page
    listing = client.get("/admin/orders/imports/", headers=headers).get_data(as_text=True)
    assert "people.csv" in listing
    with app.app_context():
        assert db.session.scalar(sa.select(Customer.country).where(Customer.code == "K1")) \
            == "GB"
        assert db.session.scalar(sa.select(sa.func.count(ImportRun.id))) == 1


def test_history_imported_with_the_catalogue_keeps_prices_of_its_day(app, sales, catalogue,
                                                                      upload):
    assert upload(sales, "/api/orders/import", HISTORY)["report"]["created"] == 1

    with app.app_context():
        order = db.session.scalar(sa.select(Order).where(Order.external_ref == "OLD-4711"))
        price = db.session.scalar(sa.select(Product.unit_price).where(Product.sku == "W-1"))
        assert order.lines[0].unit_price == Decimal("11.00") != price
        assert order.total == Decimal("33.00")

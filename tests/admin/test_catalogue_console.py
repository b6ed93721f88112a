"""Products and customers in the console: created and edited through their forms,
switched off and on in bulk from the list (never deleted)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit.db import db

pytest.importorskip("erpkit_orders")

from erpkit_orders.models import Customer, Product

from .helpers import csrf_meta_in, post_form


def test_a_product_is_created_edited_and_switched_off_and_on_again(app, console):
    client = console("ann", "admin")
    created = post_form(client, "/admin/orders/products/new/", {
        "sku": "SAW-1", "name": "Hand saw", "unit_price": "24.50", "active": "y",
        "min_quantity": "1", "unit": "unit"})
    assert created.status_code == 302, created.get_data(as_text=True)
    with app.app_context():
        saw = db.session.scalar(sa.select(Product).where(Product.sku == "SAW-1"))
        assert saw.active and saw.unit_price == Decimal("24.50")
        saw_id = saw.id
    edited = post_form(client, f"/admin/orders/products/edit/?id={saw_id}", {
        "sku": "SAW-1", "name": "Hand saw 500 mm", "unit_price": "26.00", "active": "y",
        "min_quantity": "1", "unit": "unit"})
    assert edited.status_code == 302, edited.get_data(as_text=True)
    off = post_form(client, "/admin/orders/products/action/",
                    {"action": "deactivate", "rowid": [str(saw_id)]},
                    page="/admin/orders/products/", follow_redirects=True)
    assert "1 deactivated." in off.get_data(as_text=True)
    with app.app_context():
        saw = db.session.get(Product, saw_id)
        assert (saw.name, saw.unit_price, saw.active) == ("Hand saw 500 mm", Decimal(26),
                                                           False)
    post_form(client, "/admin/orders/products/action/",
              {"action": "activate", "rowid": [str(saw_id)]}, page="/admin/orders/products/")
    with app.app_context():
        assert db.session.get(Product, saw_id).active


def test_customers_are_switched_off_in_bulk_and_cannot_be_deleted(app, console):
    client = console("ann", "admin")
    with app.app_context():
        ada = Customer(name="Ada Ltd", country="GB")
        bob = Customer(name="Bob GmbH", country="DE")
        db.session.add_all([ada, bob])
        db.session.commit()
        ids = [str(ada.id), str(bob.id)]
    page = client.get("/admin/orders/customers/").get_data(as_text=True)
    assert "Deactivate" in page and "Delete" not in page
    post_form(client, "/admin/orders/customers/action/",
              {"action": "deactivate", "rowid": ids}, page="/admin/orders/customers/")
    with app.app_context():
        assert db.session.scalars(sa.select(Customer.active)).all() == [False, False]


def test_the_warehouse_cannot_switch_products_off(app, console):
    with app.app_context():
        saw = Product(sku="SAW-1", name="Hand saw", unit_price=1)
        db.session.add(saw)
        db.session.commit()
        saw_id = saw.id
    client = console("wes", "warehouse")
    token_page = client.get("/admin/").get_data(as_text=True)
    refused = client.post("/admin/orders/products/action/", data={
        "action": "deactivate", "rowid": [str(saw_id)], "csrf_token": csrf_meta_in(token_page)})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(Product, saw_id).active

"""The purchasing console: the desk turns suggestions into drafts and moves orders on;
the other pages list what purchasing keeps."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit_inventory import replenishment
from erpkit_inventory.models import Warehouse
from erpkit_orders.models import Product
from erpkit_purchasing import suppliers
from erpkit_purchasing.models import PurchaseOrder

from .conftest import CSRF, log_in


@pytest.fixture
def logged_in(app, client, users):
    """A kettle to reorder from ACME, and a buyer (role purchasing) logged in."""
    with app.app_context():
        main = Warehouse(code="MAIN", name="Main")
        product = Product(sku="K-1", name="Kettle", unit_price=Decimal("20.00"))
        db.session.add_all([main, product])
        db.session.flush()
        replenishment.set_rule(db.session, product.id, main.id, reorder_point=Decimal(0),
                               order_up_to=Decimal(10), lead_time_days=7)
        acme = suppliers.create_supplier(db.session, code="ACME", name="Acme")
        suppliers.offer(db.session, acme, "K-1", price=Decimal("8"), pack_size=Decimal(4))
        db.session.commit()
    return log_in(client, users, "pat", "purchasing")


def test_the_desk_drafts_from_the_suggestions_and_moves_the_order_on(app, logged_in, users):
    client = logged_in
    desk = client.get("/admin/purchasing/desk/").get_data(as_text=True)
    assert "K-1" in desk and "Draft purchase orders" in desk
    token = CSRF.search(desk).group(1)
    done = client.post("/admin/purchasing/desk/draft", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "Drafted purchase orders" in done
    with app.app_context():
        order = db.session.scalars(sa.select(PurchaseOrder)).unique().one()
        order_id, line_id = order.id, order.lines[0].id
        assert order.lines[0].quantity == Decimal(12)  # 10 needed: 3 packs of 4
    for move in ("approve", "send"):
        page = client.post(f"/admin/purchasing/desk/{order_id}/{move}",
                           data={"csrf_token": token}, follow_redirects=True)
        assert f"{move} done" in page.get_data(as_text=True)
    desk = client.get("/admin/purchasing/desk/").get_data(as_text=True)
    assert ">Receive</button>" not in desk  # the buyer does not receive goods
    refused = client.post(f"/admin/purchasing/desk/{order_id}/lines/{line_id}/receive",
                          data={"csrf_token": token, "quantity": "12"}, follow_redirects=True)
    assert "Not done: you need purchasing.receive" in refused.get_data(as_text=True)
    pdf = client.get(f"/admin/purchasing/desk/{order_id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    client = log_in(app.test_client(), users, "wes", "warehouse")
    desk = client.get("/admin/purchasing/desk/").get_data(as_text=True)
    assert ">Receive</button>" in desk and ">Approve</button>" not in desk
    token = CSRF.search(desk).group(1)
    page = client.post(f"/admin/purchasing/desk/{order_id}/lines/{line_id}/receive",
                       data={"csrf_token": token, "quantity": "20"}, follow_redirects=True)
    assert "Not done" in page.get_data(as_text=True) and "cannot receive 20" in page.get_data(
        as_text=True)
    page = client.post(f"/admin/purchasing/desk/{order_id}/lines/{line_id}/receive",
                       data={"csrf_token": token, "quantity": "12"}, follow_redirects=True)
    assert "Received 12" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PurchaseOrder, order_id).status == "received"


@pytest.mark.parametrize("page", ["suppliers", "offers", "routes", "orders", "receipts",
                                  "transfers"])
def test_every_purchasing_page_opens(logged_in, page):
    assert logged_in.get(f"/admin/purchasing/{page}/").status_code == 200

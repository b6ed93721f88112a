"""The console's inventory pages, and the demo data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from erpkit.demo import load_demo
from erpkit_inventory.ledger import check_drift
from erpkit_inventory.models import Reservation, StockLevel, Warehouse
from erpkit_orders.models import Order, Product

PAGES = ["warehouses", "stock", "ledger", "alerts", "rules"]


@pytest.mark.parametrize("page", PAGES)
def test_every_inventory_page_opens_for_an_admin(client, users, shop, page):
    headers = users.headers("admin")
    shop.receive("W-1", "MAIN", 3)
    shop.order({"W-1": 1})

    answer = client.get(f"/admin/inventory/{page}/", headers=headers)

    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]


def test_sales_may_read_stock_but_not_manage_warehouses(client, users, shop):
    headers = users.headers("sales") | {"Accept": "application/json"}

    assert client.get("/admin/inventory/stock/", headers=headers).status_code == 200
    assert client.get("/admin/inventory/warehouses/", headers=headers).status_code == 403


def test_the_ledger_page_offers_no_way_to_change_an_entry(client, users, shop):
    headers = users.headers("admin")
    shop.receive("W-1", "MAIN", 3)

    assert client.get("/admin/inventory/ledger/new/", headers=headers).status_code in (302, 403,
                                                                                      404)
    page = client.get("/admin/inventory/ledger/", headers=headers).get_data(as_text=True)
    assert "test receipt" in page and "/admin/inventory/ledger/edit/" not in page


def test_the_demo_stocks_two_warehouses_once_and_confirms_what_it_can(app, session):
    load_demo("demo")

    assert session.scalars(sa.select(Warehouse.code).order_by(Warehouse.code)).all() == [
        "EAST", "MAIN"]
    active = session.scalar(sa.select(sa.func.count()).select_from(Product)
                            .where(Product.active.is_(True)))
    stocked = session.scalar(sa.select(sa.func.count(sa.distinct(StockLevel.product_id))))
    assert stocked == active
    assert session.scalar(sa.select(sa.func.count()).select_from(Reservation)) > 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)
                          .where(Order.status == "confirmed")) > 0
    assert check_drift(session) == []
    levels = session.scalar(sa.select(sa.func.count()).select_from(StockLevel))
    session.commit()

    load_demo("demo")

    assert session.scalar(sa.select(sa.func.count()).select_from(StockLevel)) == levels

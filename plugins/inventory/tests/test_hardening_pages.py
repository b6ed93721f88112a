"""Every inventory listing is a page (``{"items", "next"}``, no counts): a request's work is
bounded by its ``limit``, however many products, levels, alerts or rules there are."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpkit_inventory import stock
from erpkit_inventory.replenishment import set_rule

LISTINGS = ["availability", "stock", "warehouses", "alerts", "replenishment"]


def _rule(shop, sku, warehouse, point):
    product = stock.product_by_sku(shop.session, sku)
    place = stock.warehouse_by_code(shop.session, warehouse)
    set_rule(shop.session, product.id, place.id, reorder_point=Decimal(point),
             order_up_to=Decimal(point) * 4, lead_time_days=2)
    shop.session.commit()


def _pages(client, path, headers, cursor="after", **query):
    """Every page of a listing, one row each: (items of each page, each page's next)."""
    pages, nexts = [], []
    answer = client.get(path, headers=headers, query_string={"limit": 1, **query}).json
    while True:
        pages.append(answer["items"])
        nexts.append(answer["next"])
        if answer["next"] is None or len(pages) > 10:
            return pages, nexts
        answer = client.get(path, headers=headers, query_string={
            "limit": 1, cursor: answer["next"], **query}).json


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("limit", [0, 501, "all"])
def test_a_page_larger_than_the_cap_or_not_a_number_is_a_422_naming_limit(
        client, users, shop, listing, limit):
    answer = client.get(f"/api/inventory/{listing}", headers=users.headers("admin"),
                        query_string={"limit": limit})

    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert [e["field"] for e in answer.json["errors"]] == ["limit"]


@pytest.mark.parametrize("listing", LISTINGS)
def test_a_listing_without_a_limit_is_one_page_of_at_most_100(client, users, shop, listing):
    answer = client.get(f"/api/inventory/{listing}", headers=users.headers("admin"))

    assert answer.status_code == 200
    assert set(answer.json) == {"items", "next"}


def test_availability_comes_a_page_of_products_at_a_time_in_sku_order(client, users, shop):
    pages, nexts = _pages(client, "/api/inventory/availability", users.headers("sales"))

    assert [[row["sku"] for row in page] for page in pages] == [["G-1"], ["W-1"]]
    assert nexts == ["G-1", None]


def test_availability_of_a_page_counts_only_its_products_stock(client, users, shop):
    shop.receive("W-1", "MAIN", 7)
    shop.receive("G-1", "MAIN", 2)

    page = client.get("/api/inventory/availability", headers=users.headers("sales"),
                      query_string={"after": "G-1"}).json["items"]

    assert [(row["sku"], row["on_hand"]) for row in page] == [("W-1", "7.000")]


def test_stock_levels_come_a_page_at_a_time_by_sku_then_warehouse(client, users, shop):
    shop.receive("W-1", "MAIN", 1)
    shop.receive("G-1", "MAIN", 2)
    shop.receive("W-1", "EAST", 3)

    pages, nexts = _pages(client, "/api/inventory/stock", users.headers("logistics"))

    assert [[(row["sku"], row["warehouse"]) for row in page] for page in pages] == [
        [("G-1", "MAIN")], [("W-1", "EAST")], [("W-1", "MAIN")]]
    assert nexts[-1] is None and all(isinstance(n, int) for n in nexts[:-1])


def test_an_unknown_stock_cursor_is_an_empty_last_page(client, users, shop):
    answer = client.get("/api/inventory/stock", headers=users.headers("logistics"),
                        query_string={"after": 2**31 - 1})

    assert answer.json == {"items": [], "next": None}


def test_warehouses_come_a_page_at_a_time_by_code(client, users, shop):
    pages, nexts = _pages(client, "/api/inventory/warehouses", users.headers("logistics"))

    assert [[row["code"] for row in page] for page in pages] == [["EAST"], ["MAIN"]]
    assert nexts == ["EAST", None]


def test_open_alerts_come_a_page_at_a_time_newest_first(client, users, shop):
    for sku in ("W-1", "G-1"):
        shop.receive(sku, "MAIN", 10)
        _rule(shop, sku, "MAIN", 5)
    shop.order({"W-1": 6})  # the older alert
    shop.order({"G-1": 6})

    pages, _ = _pages(client, "/api/inventory/alerts", users.headers("analyst"),
                      cursor="before")

    assert [[row["sku"] for row in page] for page in pages] == [["G-1"], ["W-1"]]


def test_replenishment_looks_at_a_page_of_rules_at_a_time(client, users, shop):
    _rule(shop, "W-1", "MAIN", 5)  # nothing on hand: both are below their reorder point
    _rule(shop, "G-1", "EAST", 3)

    pages, nexts = _pages(client, "/api/inventory/replenishment", users.headers("warehouse"))

    assert [[(row["sku"], row["warehouse"]) for row in page] for page in pages] == [
        [("W-1", "MAIN")], [("G-1", "EAST")]]
    assert nexts[-1] is None

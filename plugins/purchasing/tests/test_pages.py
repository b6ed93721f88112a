"""Every purchasing listing is a page (``{"items", "next"}``, no counts): a request's work
is bounded by its ``limit``, and following ``next`` visits every row once, in order,
however many suppliers, orders, receipts, transfers or planned products there are."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from erpkit.testing import every_page
from erpkit_inventory import replenishment, stock
from erpkit_purchasing import branches, purchase_orders, receiving
from erpkit_purchasing.suppliers import supplier_by_code

from .conftest import log_in, q

LISTINGS = {"suppliers": "after", "suggestions": "after", "orders": "before",
            "orders/{order}/receipts": "after", "transfers": "before"}


def _draft(shop, sku: str = "K-1", supplier: str = "ACME", amount: int = 10) -> Any:
    order = purchase_orders.create_order(shop.session, supplier=supplier, warehouse="MAIN",
                                         lines=[{"sku": sku, "quantity": q(amount)}],
                                         actor="test")
    shop.session.commit()
    return order


@pytest.fixture
def world(shop):
    """MAIN and EAST, kettles K-1 offered by ACME: an order of them exists."""
    shop.warehouse("MAIN")
    shop.warehouse("EAST")
    shop.product("K-1")
    acme = shop.supplier("ACME")
    shop.offer(acme, "K-1", preferred=True)
    return _draft(shop)


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("limit", [0, 501, "all"])
def test_a_page_larger_than_the_cap_or_not_a_number_is_a_422_naming_limit(
        as_role, world, listing, limit):
    answer = as_role("purchasing").get("/api/purchasing/" + listing.format(order=world.id),
                                       query_string={"limit": limit})

    assert answer.status_code == 422, answer.get_json()
    assert [e["field"] for e in answer.get_json()["errors"]] == ["limit"]


@pytest.mark.parametrize(("listing", "cursor"), [
    ("suppliers", "x" * 33), ("suggestions", "x" * 65), ("orders", "x"), ("orders", "-1"),
    ("orders/{order}/receipts", "x"), ("orders/{order}/receipts", str(2**31)),
    ("transfers", "-1"),
])
def test_a_cursor_that_no_page_gave_is_a_422_naming_it(as_role, world, listing, cursor):
    name = LISTINGS[listing]

    answer = as_role("purchasing").get("/api/purchasing/" + listing.format(order=world.id),
                                       query_string={name: cursor})

    assert answer.status_code == 422, answer.get_json()
    assert [e["field"] for e in answer.get_json()["errors"]] == [name]


@pytest.mark.parametrize("listing", LISTINGS)
def test_a_listing_without_a_limit_is_one_page(as_role, world, listing):
    answer = as_role("purchasing").get("/api/purchasing/" + listing.format(order=world.id))

    assert answer.status_code == 200, answer.get_json()
    assert set(answer.get_json()) == {"items", "next"}
    assert answer.get_json()["next"] is None


def test_suppliers_come_a_page_at_a_time_by_code(as_role, shop, world):
    for code in ("ZED", "BOLT"):
        shop.supplier(code)

    pages, nexts = every_page(as_role("purchasing").get, "/api/purchasing/suppliers")

    assert [[s["code"] for s in page] for page in pages] == [["ACME"], ["BOLT"], ["ZED"]]
    assert nexts == ["ACME", "BOLT", None]
    assert pages[0][0]["contacts"] == [{"name": "ACME sales", "role": "sales",
                                        "email": None, "phone": None}]


def test_purchase_orders_come_a_page_at_a_time_newest_first(as_role, shop, world):
    later = [_draft(shop), _draft(shop)]

    ones, _ = every_page(as_role("analyst").get, "/api/purchasing/orders", cursor="before")
    twos, _ = every_page(as_role("analyst").get, "/api/purchasing/orders", cursor="before",
                         limit=2)

    newest_first = [later[1].number, later[0].number, world.number]
    assert [[o["number"] for o in page] for page in ones] == [[n] for n in newest_first]
    assert [[o["number"] for o in page] for page in twos] == [newest_first[:2],
                                                             newest_first[2:]]
    assert ones[0][0]["lines"][0]["sku"] == "K-1"


def test_more_than_500_orders_are_all_reachable(as_role, shop, world):
    """The listing used to stop at 500 orders without saying so."""
    for _ in range(501):
        purchase_orders.new_order(shop.session, world.supplier_id, world.warehouse_id,
                                  actor="test")
    shop.session.commit()

    pages, nexts = every_page(as_role("analyst").get, "/api/purchasing/orders", cursor="before",
                              limit=500)

    assert [len(page) for page in pages] == [500, 2]
    assert len({o["id"] for page in pages for o in page}) == 502 and nexts[-1] is None


def test_an_orders_receipts_come_a_page_at_a_time_oldest_first(as_role, shop, world):
    purchase_orders.approve(shop.session, world, actor="test")
    purchase_orders.send(shop.session, world, actor="test")
    line = world.lines[0]
    made = [receiving.receive_line(shop.session, world.id, line.id, q(amount), actor="test")
            for amount in (1, 2, 3)]
    shop.session.commit()
    other = _draft(shop)  # another order's receipts are not listed
    purchase_orders.approve(shop.session, other, actor="test")
    purchase_orders.send(shop.session, other, actor="test")
    receiving.receive_line(shop.session, other.id, other.lines[0].id, q(4), actor="test")
    shop.session.commit()

    pages, nexts = every_page(as_role("warehouse").get,
                              f"/api/purchasing/orders/{world.id}/receipts")

    assert [[r["quantity"] for r in page] for page in pages] == [
        ["1.000"], ["2.000"], ["3.000"]]
    assert nexts == [made[0].id, made[1].id, None]


def test_transfers_come_a_page_at_a_time_newest_first(as_role, shop, world):
    shop.receive("K-1", "MAIN", 10)
    kettle = stock.product_by_sku(shop.session, "K-1")
    main, east = (stock.warehouse_by_code(shop.session, code) for code in ("MAIN", "EAST"))
    made = [branches.dispatch(shop.session, kettle, main, east, q(amount), actor="test")
            for amount in (1, 2, 3)]
    shop.session.commit()

    pages, _ = every_page(as_role("warehouse").get, "/api/purchasing/transfers", cursor="before")

    assert [[t["id"] for t in page] for page in pages] == [[t.id] for t in reversed(made)]


def _plan(shop, sku: str, *warehouses: str, on_hand: int = 0) -> None:
    """A new product ``sku`` offered by ACME, kept up to 20 in each of ``warehouses``."""
    product = shop.product(sku)
    shop.offer(supplier_by_code(shop.session, "ACME"), sku, preferred=True)
    for code in warehouses:
        if on_hand:
            shop.receive(sku, code, on_hand)
        replenishment.set_rule(shop.session, product.id,
                               stock.warehouse_by_code(shop.session, code).id,
                               reorder_point=Decimal(5), order_up_to=Decimal(20),
                               lead_time_days=3)
    shop.session.commit()


def test_suggestions_come_for_a_page_of_products_at_a_time_by_sku(as_role, shop, world):
    _plan(shop, "P-3", "MAIN")
    _plan(shop, "P-1", "MAIN", "EAST")  # two rules: both of its suggestions in its page
    _plan(shop, "P-2", "MAIN", on_hand=100)  # planned, but nothing to buy
    shop.product("P-0")  # no rule: not a product of the plan

    pages, nexts = every_page(as_role("purchasing").get, "/api/purchasing/suggestions")

    assert [[(s["sku"], s["warehouse"]) for s in page] for page in pages] == [
        [("P-1", "EAST"), ("P-1", "MAIN")], [], [("P-3", "MAIN")]]
    assert nexts == ["P-1", "P-2", None]


def test_the_desk_shows_a_page_of_suggestions_with_a_link_to_the_next(
        client, users, shop, world):
    for sku in ("P-2", "P-1", "P-3"):
        _plan(shop, sku, "MAIN")
    log_in(client, users, "pat", "purchasing")

    seen, url = [], "/admin/purchasing/desk/?limit=2"
    while url is not None and len(seen) < 10:
        html = client.get(url).get_data(as_text=True)
        table = html.split('data-testid="suggestions"')[1].split("</table>")[0]
        seen.append(re.findall(r"<tr><td>([^<]+)</td>", table))
        assert "Draft purchase orders" in html
        found = re.search(r'href="([^"]+)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else None

    assert seen == [["P-1", "P-2"], ["P-3"]]

"""Logistics listings are pages (``{"items", "next"}``, no counts): shipments newest
first, the picking list in walking order; and package sizes are read strictly."""

from __future__ import annotations

import pytest

from erpkit.testing import every_page
from erpkit_logistics.models import BinLocation, LogisticsShipment
from erpkit_logistics.picking import bin_order, walk_key

LISTINGS = ["/api/logistics/shipments", "/api/logistics/picking-list"]


def _shipments(world, count):
    world.product("A", weight="1")
    made = [world.shipment(world.order({"A": 1})).id for _ in range(count)]
    world.session.commit()
    return made


def _binned(world, bins):
    """A product per bin (``None``: no bin) in MAIN, and a shipment being picked of them."""
    lines = {}
    for number, bin_code in enumerate(bins):
        product = world.product(f"P-{number}", weight="1")
        if bin_code is not None:
            world.session.add(BinLocation(product_id=product.id, warehouse="MAIN",
                                          bin=bin_code))
        lines[product.sku] = 1
    world.session.commit()
    world.shipment(world.order(lines))
    world.session.commit()


@pytest.mark.parametrize("codes", [
    ["A-10", "A-2", "a-3", "B", "A", "A1", "AB", "A-02", "10", "9", "Z-100-2", "Z-100-10",
     "Ä-1", "A-1-B", "A-1-", "A 1", "00", "0"],
])
def test_walk_keys_sort_bins_as_the_walking_order_does(codes):
    assert sorted(codes, key=walk_key) == sorted(codes, key=bin_order)
    assert all(set(walk_key(code)) <= set("0123456789abcdef") for code in codes)


def test_shipments_come_a_page_at_a_time_newest_first_each_once(world, as_role):
    made = _shipments(world, 5)

    pages, nexts = every_page(as_role("warehouse").get, "/api/logistics/shipments",
                              cursor="before", limit=2)

    assert [[s["id"] for s in page] for page in pages] == [
        made[:2:-1][:2], made[2:0:-1], made[:1]]
    assert nexts == [made[3], made[1], None]


def test_a_shipment_filter_pages_only_its_shipments(world, as_role):
    made = _shipments(world, 3)
    world.session.query(LogisticsShipment).filter(LogisticsShipment.id == made[1]).update(
        {"warehouse": "EAST"})
    world.session.commit()

    pages, _ = every_page(as_role("warehouse").get, "/api/logistics/shipments",
                          cursor="before", warehouse="MAIN")

    assert [s["id"] for page in pages for s in page] == [made[2], made[0]]


def test_the_picking_list_comes_a_page_at_a_time_in_walking_order_each_line_once(
        world, as_role):
    _binned(world, ["B-10", "A-2", None, "B-2", "A-10", "A-2b"])

    pages, nexts = every_page(as_role("warehouse").get, "/api/logistics/picking-list",
                              limit=2, warehouse="MAIN")

    assert [[line["bin"] for line in page] for page in pages] == [
        ["A-2", "A-2b"], ["A-10", "B-2"], ["B-10", None]]
    assert nexts[-1] is None and all(isinstance(n, int) for n in nexts[:-1])


def test_a_bin_moved_in_the_console_walks_in_its_new_place(world, as_role):
    _binned(world, ["C-1", "B-1"])
    moved = world.session.query(BinLocation).filter(BinLocation.bin == "C-1").one()
    moved.bin = "A-1"
    world.session.commit()

    pages, _ = every_page(as_role("warehouse").get, "/api/logistics/picking-list",
                          warehouse="MAIN")

    assert [line["bin"] for page in pages for line in page] == ["A-1", "B-1"]


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("limit", [0, 501, "all"])
def test_a_page_larger_than_the_cap_is_a_422_naming_limit(world, as_role, listing, limit):
    refused = as_role("warehouse").get(listing, query_string={"limit": limit,
                                                              "warehouse": "MAIN"})

    assert refused.status_code == 422, refused.get_json()
    assert [e["field"] for e in refused.get_json()["errors"]] == ["limit"]


@pytest.mark.parametrize("listing,cursor,name", [
    ("/api/logistics/shipments", "newest", "before"),
    ("/api/logistics/shipments", 2**31, "before"),
    ("/api/logistics/picking-list", "A-2", "after"),
    ("/api/logistics/picking-list", 999_999, "after"),  # no such line
])
def test_a_cursor_that_is_not_one_of_the_list_is_a_422_naming_it(world, as_role, listing,
                                                                  cursor, name):
    refused = as_role("warehouse").get(listing, query_string={name: cursor,
                                                              "warehouse": "MAIN"})

    assert refused.status_code == 422, refused.get_json()
    assert [e["field"] for e in refused.get_json()["errors"]] == [name]


@pytest.mark.parametrize("weight,reason", [
    ("\u0661.\u0662", "Not a valid number"),  # Arabic-Indic 1.2
    ("1.2345", "at most 3 decimal places"),
    ("1e3", "Not a valid number"),
    (1.5, "Not a valid number"),  # a JSON number with a fraction: a binary float
])
def test_a_package_weight_in_other_digits_or_beyond_grams_is_a_422_naming_it(
        world, as_role, weight, reason):
    [shipment] = _shipments(world, 1)
    clerk = as_role("warehouse")
    clerk.post(f"/api/logistics/shipments/{shipment}/pick")

    refused = clerk.post(f"/api/logistics/shipments/{shipment}/pack",
                         json={"packages": [{"weight_kg": weight}]})

    assert refused.status_code == 422, refused.get_json()
    [problem] = refused.get_json()["errors"]
    assert problem["field"] == "packages.0.weight_kg" and reason in problem["message"]
    assert clerk.get(f"/api/logistics/shipments/{shipment}").get_json()["packages"] == []


def test_a_package_weight_in_ascii_digits_is_kept_exactly(world, as_role):
    [shipment] = _shipments(world, 1)
    clerk = as_role("warehouse")
    clerk.post(f"/api/logistics/shipments/{shipment}/pick")

    packed = clerk.post(f"/api/logistics/shipments/{shipment}/pack",
                        json={"packages": [{"weight_kg": "1.235", "length_cm": 30}]})

    assert packed.status_code == 200, packed.get_json()
    assert [(p["weight_kg"], p["length_cm"]) for p in packed.get_json()["packages"]] == [
        ("1.235", "30.000")]

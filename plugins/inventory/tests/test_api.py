"""The JSON endpoints under /api/inventory: who may call them and what they answer.

The requests run in the test's app context, so they share its session: each test makes
its users before the first request (on SQLite a user made in another context would wait
for the test's transaction).
"""

from __future__ import annotations

import pytest

from .conftest import q


@pytest.fixture
def stocked(shop):
    shop.receive("W-1", "MAIN", 10)
    shop.receive("W-1", "EAST", 4)
    shop.order({"W-1": 3})
    return shop


def test_availability_lists_each_open_warehouse_and_the_total(client, users, stocked):
    answer = client.get("/api/inventory/availability?sku=W-1", headers=users.headers("sales"))

    assert answer.status_code == 200
    assert answer.json["next"] is None
    assert answer.json["items"] == [{
        "sku": "W-1", "name": "Product W-1", "on_hand": "14.000", "reserved": "3.000",
        "available": "11.000", "backordered": "0.000", "expected": "0.000",
        "warehouses": [
            {"warehouse": "EAST", "on_hand": "4.000", "reserved": "0.000", "available": "4.000"},
            {"warehouse": "MAIN", "on_hand": "10.000", "reserved": "3.000",
             "available": "7.000"}]}]


def test_availability_in_one_warehouse(client, users, stocked):
    answer = client.get("/api/inventory/availability?warehouse=EAST",
                        headers=users.headers("sales"))

    by_sku = {row["sku"]: row for row in answer.json["items"]}
    assert by_sku["W-1"]["available"] == "4.000"
    assert by_sku["G-1"]["available"] == "0.000" and by_sku["G-1"]["warehouses"] == []


def test_an_unknown_product_is_named_in_a_422(client, users, stocked):
    answer = client.get("/api/inventory/availability?sku=NOPE", headers=users.headers("sales"))

    assert answer.status_code == 422
    assert answer.json["errors"] == [{"field": "sku", "message": "unknown product 'NOPE'",
                                      "code": "unknown_product", "severity": "error"}]


def test_reading_needs_a_login_and_writing_needs_inventory_adjust(client, users, stocked):
    sales, warehouse = users.headers("sales"), users.headers("warehouse")
    body = {"sku": "W-1", "warehouse": "MAIN", "quantity": "5"}

    assert client.get("/api/inventory/stock").status_code == 401
    assert client.post("/api/inventory/receipts", json=body, headers=sales).status_code == 403
    assert client.post("/api/inventory/receipts", json=body, headers=warehouse).status_code == 201


def test_a_receipt_raises_on_hand_and_is_in_the_ledger(client, users, stocked):
    answer = client.post("/api/inventory/receipts", headers=users.headers("warehouse"), json={
        "sku": "G-1", "warehouse": "EAST", "quantity": "2.5", "reference": "PO-77"})

    assert answer.status_code == 201
    entry = answer.json
    assert (entry["kind"], entry["sku"], entry["warehouse"], entry["on_hand_change"],
            entry["actor"], entry["reference"]) == (
        "receipt", "G-1", "EAST", "2.500", "warehouse", "PO-77")
    assert stocked.level("G-1", "EAST") == (q("2.5"), q(0))


def test_an_adjustment_needs_a_reason_and_cannot_remove_reserved_stock(client, users, stocked):
    headers = users.headers("warehouse")
    no_reason = client.post("/api/inventory/adjustments", headers=headers,
                            json={"sku": "W-1", "warehouse": "MAIN", "quantity": "-1"})
    assert no_reason.status_code == 422
    assert [e["field"] for e in no_reason.json["errors"]] == ["reason"]

    too_much = client.post("/api/inventory/adjustments", headers=headers, json={
        "sku": "W-1", "warehouse": "MAIN", "quantity": "-8", "reason": "count"})
    assert too_much.status_code == 422
    assert too_much.json["errors"][0]["message"] == (
        "W-1 in MAIN: cannot remove 8; on hand is 10 and 3 of it is reserved")

    counted = client.post("/api/inventory/adjustments", headers=headers, json={
        "sku": "W-1", "warehouse": "MAIN", "quantity": "-7", "reason": "broken in the fire"})
    assert counted.status_code == 201
    assert counted.json["reason"] == "broken in the fire"
    assert stocked.level("W-1", "MAIN") == (q(3), q(3))


def test_a_transfer_moves_available_stock_as_two_entries_with_one_reference(client, users,
                                                                            stocked):
    headers = users.headers("warehouse")
    moved = client.post("/api/inventory/transfers", headers=headers, json={
        "sku": "W-1", "from_warehouse": "MAIN", "to_warehouse": "EAST", "quantity": "7"})

    assert moved.status_code == 201
    out_of, into = moved.json
    assert (out_of["warehouse"], out_of["on_hand_change"]) == ("MAIN", "-7.000")
    assert (into["warehouse"], into["on_hand_change"]) == ("EAST", "7.000")
    assert out_of["reference"] == into["reference"]
    assert stocked.level("W-1", "MAIN") == (q(3), q(3))
    assert stocked.level("W-1", "EAST") == (q(11), q(0))

    refused = client.post("/api/inventory/transfers", headers=headers, json={
        "sku": "W-1", "from_warehouse": "MAIN", "to_warehouse": "EAST", "quantity": "1"})
    assert refused.status_code == 422
    assert refused.json["errors"][0]["message"] == (
        "W-1 in MAIN: 0 available, cannot transfer 1")


def test_the_ledger_is_read_newest_first_a_page_at_a_time(client, users, shop):
    for amount in range(1, 6):
        shop.receive("G-1", "MAIN", amount)
    headers = users.headers("analyst")

    pages, cursor = [], None
    while True:
        query = "/api/inventory/ledger?sku=G-1&limit=2" + (f"&before={cursor}" if cursor else "")
        page = client.get(query, headers=headers).json
        pages.append([entry["on_hand_change"] for entry in page["items"]])
        cursor = page["next"]
        if cursor is None:
            break

    assert pages == [["5.000", "4.000"], ["3.000", "2.000"], ["1.000"]]
    kinds = client.get("/api/inventory/ledger?kind=reservation", headers=headers).json
    assert kinds == {"items": [], "next": None}


def test_stock_levels_and_warehouses(client, users, stocked):
    headers = users.headers("logistics")
    levels = client.get("/api/inventory/stock?sku=W-1", headers=headers).json["items"]
    assert [(lv["warehouse"], lv["available"]) for lv in levels] == [
        ("EAST", "4.000"), ("MAIN", "7.000")]
    warehouses = client.get("/api/inventory/warehouses", headers=headers).json["items"]
    assert [w["code"] for w in warehouses] == ["EAST", "MAIN"]

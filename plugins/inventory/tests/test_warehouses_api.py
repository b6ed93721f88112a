"""Warehouses opened, renamed and closed through the API (a company bringing its sites)."""

from __future__ import annotations


def test_a_warehouse_is_opened_through_the_api_and_takes_receipts(client, users, shop):
    headers = users.headers("admin")

    opened = client.post("/api/inventory/warehouses", headers=headers,
                         json={"code": "NORTH", "name": "Leeds depot"})
    shop.receive("W-1", "NORTH", 5)
    listed = client.get("/api/inventory/warehouses", headers=headers).json["items"]

    assert opened.status_code == 201, opened.json
    assert opened.json == {"code": "NORTH", "name": "Leeds depot", "active": True}
    assert {"code": "NORTH", "name": "Leeds depot", "active": True} in listed


def test_a_warehouse_code_is_new_and_well_formed(client, users, shop):
    headers = users.headers("admin")
    client.post("/api/inventory/warehouses", headers=headers, json={"code": "W2", "name": "A"})

    again = client.post("/api/inventory/warehouses", headers=headers,
                        json={"code": "W2", "name": "B"})
    spaced = client.post("/api/inventory/warehouses", headers=headers,
                         json={"code": "has space", "name": "C"})

    assert again.status_code == 422 and again.json["errors"][0]["field"] == "code"
    assert spaced.status_code == 422 and spaced.json["errors"][0]["field"] == "code"


def test_a_warehouse_is_closed_and_reopened_but_only_by_inventory_managers(client, users, shop):
    headers, sales = users.headers("admin"), users.headers("sales")
    client.post("/api/inventory/warehouses", headers=headers, json={"code": "TMP", "name": "T"})

    denied = client.patch("/api/inventory/warehouses/TMP", headers=sales,
                          json={"active": False})
    closed = client.patch("/api/inventory/warehouses/TMP", headers=headers,
                          json={"active": False})
    missing = client.patch("/api/inventory/warehouses/NOPE", headers=headers,
                           json={"active": False})

    assert denied.status_code == 403
    assert closed.status_code == 200 and closed.json["active"] is False
    assert missing.status_code == 404

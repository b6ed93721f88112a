"""The stable public API: /api/v1 beside the old /api aliases, ETag and If-Match on
order updates, pages without counts, and an OpenAPI document that validates."""

from __future__ import annotations

from openapi_spec_validator import validate

from .conftest import order_body


def test_every_json_endpoint_answers_under_api_v1_and_the_old_paths_still_work(
        as_role, catalogue):
    sales = as_role("sales")
    made = sales.post("/api/v1/orders", json=order_body(catalogue))
    assert made.status_code == 201
    assert sales.get(f"/api/v1/orders/{made.json['id']}").json["number"] == made.json["number"]
    assert sales.get(f"/api/orders/{made.json['id']}").json["number"] == made.json["number"]
    assert as_role("admin").get("/api/v1/webhooks/events").status_code == 200
    assert sales.get("/api/v1/webhooks/events").status_code == 403  # the same guards


def test_the_openapi_document_lists_api_v1_and_the_webhooks_and_is_valid(client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)  # OpenAPI 3.1, checked by openapi-spec-validator
    paths = list(document["paths"])
    assert "/api/v1/orders/{order_id}" in paths and "/api/v1/webhooks/replay" in paths
    assert not [p for p in paths if p.startswith("/api/") and not p.startswith("/api/v1/")]
    confirmed = document["webhooks"]["order.confirmed"]["post"]
    body = confirmed["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["data"] == {"$ref": "#/components/schemas/OrderEvent"}
    assert "order_id" in document["components"]["schemas"]["OrderEvent"]["properties"]
    assert {p["name"] for p in confirmed["parameters"]} == {
        "webhook-id", "webhook-timestamp", "webhook-signature"}
    patch = document["paths"]["/api/v1/orders/{order_id}"]["patch"]
    assert "412" in patch["responses"] and "If-Match" in {p["name"] for p in patch["parameters"]}


def test_a_stale_if_match_is_refused_with_412_and_changes_nothing(as_role, catalogue):
    sales = as_role("sales")
    order = sales.post("/api/v1/orders", json=order_body(catalogue)).json
    read = sales.get(f"/api/v1/orders/{order['id']}")
    tag = read.headers["ETag"]
    first = sales.patch(f"/api/v1/orders/{order['id']}", json={"note": "ring twice"},
                        headers={"If-Match": tag})
    assert first.status_code == 200, first.json
    assert first.headers["ETag"] != tag
    stale = sales.patch(f"/api/v1/orders/{order['id']}", json={"note": "leave at door"},
                        headers={"If-Match": tag})
    assert stale.status_code == 412
    assert stale.json["code"] == "precondition_failed" and stale.json["field"] == "If-Match"
    assert sales.get(f"/api/v1/orders/{order['id']}").json["note"] == "ring twice"
    fresh = sales.patch(f"/api/v1/orders/{order['id']}", json={"note": "leave at door"},
                        headers={"If-Match": first.headers["ETag"]})
    assert fresh.status_code == 200
    garbage = sales.patch(f"/api/v1/orders/{order['id']}", json={"note": "x"},
                          headers={"If-Match": "yesterday"})
    assert garbage.status_code == 412


def test_pages_carry_a_cursor_and_no_count(as_role, catalogue):
    sales = as_role("sales")
    for _ in range(3):
        sales.post("/api/v1/orders", json=order_body(catalogue))
    page = sales.get("/api/v1/orders?limit=2").json
    assert set(page) == {"items", "next"} and len(page["items"]) == 2
    rest = sales.get(f"/api/v1/orders?limit=2&after={page['next']}").json
    assert len(rest["items"]) == 1 and rest["next"] is None


def test_an_idempotency_key_is_bound_to_its_request_body(as_role, catalogue):
    sales = as_role("sales")
    key = {"Idempotency-Key": "order-2026-12-01-a"}
    first = sales.post("/api/v1/orders", json=order_body(catalogue), headers=key)
    again = sales.post("/api/v1/orders", json=order_body(catalogue), headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"]
    other = {**order_body(catalogue), "lines": [{"sku": "W-1", "quantity": "5"}]}
    refused = sales.post("/api/v1/orders", json=other, headers=key)
    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "Idempotency-Key"
    assert len(sales.get("/api/v1/orders").json["items"]) == 1

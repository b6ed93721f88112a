"""Approval thresholds and purchasing amounts are read like every decimal of the API
(:class:`erpkit.schemas.StrictDecimal`): ASCII digits, no exponent, no more places or
digits than the column holds; and a purchase-spend period is bounded like every report."""

from __future__ import annotations

import pytest


def _rule(value):
    return {"name": "big orders", "conditions": [
        {"fact": "orders.total", "operator": ">", "value": value}],
        "steps": [{"role": "admin", "required": 1}]}


@pytest.mark.parametrize("value", [
    "\u0664\u0660\u0660",  # Arabic-Indic 400
    "1e3", "0.00001", "1" * 19, "NaN", "Infinity", True, [400],
])
def test_a_threshold_not_in_ascii_digits_or_beyond_four_places_is_a_422_naming_it(
        client, users, value):
    headers = users.headers("admin")

    refused = client.post("/api/approvals/rules", headers=headers, json=_rule(value))

    assert refused.status_code == 422, refused.get_json()
    assert [p["field"] for p in refused.get_json()["errors"]] == ["conditions.0.value"]
    assert client.get("/api/approvals/rules", headers=headers).get_json()["items"] == []


@pytest.mark.parametrize("value,stored", [("400.50", "400.50"), (400, "400"),
                                          ("0.0001", "0.0001")])
def test_a_threshold_in_decimal_digits_is_kept_exactly(client, users, value, stored):
    saved = client.post("/api/approvals/rules", headers=users.headers("admin"),
                        json=_rule(value))

    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["conditions"][0]["value"] == stored


@pytest.mark.parametrize("quantity", ["\u0665", "1e3", "0.0001", "1" * 16, "NaN"])
def test_a_purchase_quantity_not_in_ascii_digits_or_beyond_the_column_is_a_422(
        client, users, quantity):
    refused = client.post("/api/purchasing/orders", headers=users.headers("admin"), json={
        "supplier": "ANY", "warehouse": "MAIN", "lines": [{"sku": "X", "quantity": quantity}]})

    assert refused.status_code == 422, refused.get_json()
    assert [p["field"] for p in refused.get_json()["errors"]] == ["lines.0.quantity"]


@pytest.mark.parametrize("price", ["\u0665", "0.00001", "2.5e1"])
def test_a_purchase_price_not_in_ascii_digits_or_beyond_four_places_is_a_422(
        client, users, price):
    refused = client.post("/api/purchasing/orders", headers=users.headers("admin"), json={
        "supplier": "ANY", "warehouse": "MAIN",
        "lines": [{"sku": "X", "quantity": "1", "unit_price": price}]})

    assert refused.status_code == 422, refused.get_json()
    assert [p["field"] for p in refused.get_json()["errors"]] == ["lines.0.unit_price"]


@pytest.mark.parametrize("period", [
    {"first": "1900-01-01", "last": "2999-12-31"},
    {"first": "2020-01-01", "last": "2023-01-01"},
])
def test_a_purchase_spend_period_longer_than_the_parameter_is_a_422_naming_last(
        client, users, period):
    refused = client.get("/api/purchasing/spend", headers=users.headers("admin"),
                         query_string=period)

    assert refused.status_code == 422, refused.get_json()
    [problem] = refused.get_json()["errors"]
    assert (problem["field"], problem["code"]) == ("last", "too_long")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_purchase_spend_day_outside_the_years_the_code_holds_is_a_422(client, users, day):
    refused = client.get("/api/purchasing/spend", headers=users.headers("admin"),
                         query_string={"first": day, "last": day})

    assert refused.status_code == 422
    assert {p["field"] for p in refused.get_json()["errors"]} == {"first", "last"}


def test_a_purchase_spend_period_the_parameter_allows_is_answered(client, users):
    answer = client.get("/api/purchasing/spend", headers=users.headers("admin"),
                        query_string={"first": "2024-01-01", "last": "2024-12-31"})

    assert answer.status_code == 200
    assert answer.get_json() == []

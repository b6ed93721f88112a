"""An order to a customer in an embargoed country is refused at once, naming the field;
the list of countries is a parameter an admin changes without a restart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from erpkit.testing import ApiClient


@pytest.fixture
def admin(as_role: Callable[[str], ApiClient]) -> ApiClient:
    return as_role("admin")


@pytest.fixture
def shop(admin: ApiClient) -> dict[str, int]:
    """A product and two customers, made through the API like an integrator would."""
    product = admin.post("/api/products", json={"sku": "W-1", "name": "Widget",
                                                "unit_price": "12.50"})
    assert product.status_code == 201, product.get_json()
    made = {}
    for name, country in (("Pyongyang Trading", "KP"), ("Ada Ltd", "GB")):
        customer = admin.post("/api/customers", json={"name": name, "country": country,
                                                      "email": f"{country.lower()}@example.com"})
        assert customer.status_code == 201, customer.get_json()
        made[country] = customer.get_json()["id"]
    return made


def order_for(customer_id: int) -> dict[str, Any]:
    return {"customer_id": customer_id, "channel": "web",
            "lines": [{"sku": "W-1", "quantity": "2"}]}


def embargo(admin: ApiClient, codes: str) -> None:
    changed = admin.put("/api/settings/embargo.regions", json={"value": codes})
    assert changed.status_code == 200, changed.get_json()


def test_an_order_to_an_embargoed_country_is_refused_naming_the_field(
        admin: ApiClient, shop: dict[str, int]) -> None:
    embargo(admin, "KP, IR")

    refused = admin.post("/api/orders", json=order_for(shop["KP"]))

    assert refused.status_code == 422, refused.get_json()
    body = refused.get_json()
    assert "customer.country" in str(body)
    assert "North Korea" in str(body) or "Korea" in str(body)
    assert admin.get("/api/orders").get_json()["items"] == []


def test_other_countries_still_order(admin: ApiClient, shop: dict[str, int]) -> None:
    embargo(admin, "KP")

    created = admin.post("/api/orders", json=order_for(shop["GB"]))

    assert created.status_code == 201, created.get_json()


def test_lifting_the_embargo_takes_effect_without_a_restart(
        admin: ApiClient, shop: dict[str, int]) -> None:
    embargo(admin, "KP")
    assert admin.post("/api/orders", json=order_for(shop["KP"])).status_code == 422

    embargo(admin, "")

    assert admin.post("/api/orders", json=order_for(shop["KP"])).status_code == 201


def test_an_unknown_country_code_is_refused_with_the_reason(admin: ApiClient) -> None:
    refused = admin.put("/api/settings/embargo.regions", json={"value": "KP, XX"})

    assert refused.status_code == 422
    assert "XX" in str(refused.get_json())

"""The availability listing builds its JSON without marshmallow's dump (a page of 500
products spent two thirds of its time there); these tests hold that JSON to the
documented schema's dump, so the two cannot drift apart."""

from __future__ import annotations

import random
from decimal import Decimal

from erpkit_inventory import availability
from erpkit_inventory.api import AvailabilitySchema, availability_json
from erpkit_inventory.availability import ProductAvailability, WarehouseStock


def _random_quantity(rng: random.Random) -> Decimal:
    # Exact thousandths, ties at the fourth place (rounding), negatives, zeros and
    # large values: what a column or a sum of columns can hold.
    places = rng.choice([0, 1, 3, 4, 5])
    return Decimal(rng.randint(-10**7, 10**12)).scaleb(-places)


def test_the_built_json_equals_the_schema_dump_for_random_rows():
    rng = random.Random(20261202)
    schema = AvailabilitySchema()
    for number in range(3000):
        row = ProductAvailability(
            f"SKU-{number}", f"Product {number} «ü»", backordered=_random_quantity(rng),
            expected=rng.choice([Decimal(0), _random_quantity(rng)]),
            warehouses=[WarehouseStock(f"W{k}", _random_quantity(rng), _random_quantity(rng))
                        for k in range(rng.randint(0, 3))])

        assert availability_json(row) == schema.dump(row), row


def test_the_listing_answers_what_the_schema_would(client, users, shop):
    shop.receive("W-1", "MAIN", 10)
    shop.receive("W-1", "EAST", 4)
    shop.order({"W-1": 3})
    schema = AvailabilitySchema()

    answer = client.get("/api/inventory/availability?limit=500",
                        headers=users.headers("sales"))

    expected = [schema.dump(row) for row in availability.availability(shop.session)]
    assert answer.status_code == 200 and answer.json["next"] is None
    assert answer.json["items"] == expected
    assert {item["sku"] for item in expected} >= {"W-1", "G-1"}

"""Shipping is priced as the order is entered and changed, from the service's rates for
the zone the order goes to; the facts tell approval rules the same."""

from __future__ import annotations

from decimal import Decimal

from erpkit.plugins import current_registry
from erpkit_orders.intake import update_order
from erpkit_orders.models import Customer


def facts_of(session, order):
    registry = current_registry()
    found = {}
    for result in registry.hook.erpkit_order_facts(order=order, session=session):
        found.update(result)
    return found


def test_a_light_order_pays_the_first_weight_bracket(world):
    world.product("BOX", weight="1.5")
    order = world.order({"BOX": 2}, confirm=False)  # 3 kg, Berlin: zone DE
    assert world.refresh(order).shipping_charge == Decimal("4.90")


def test_a_heavier_order_pays_the_next_bracket(world):
    world.product("BRICK", weight="4")
    order = world.order({"BRICK": 2}, confirm=False)  # 8 kg
    assert world.refresh(order).shipping_charge == Decimal("9.90")


def test_an_order_above_the_threshold_ships_free(world):
    world.product("TV", weight="12", price="300.00")
    order = world.order({"TV": 2}, confirm=False)  # 600.00 >= 500.00
    assert world.refresh(order).shipping_charge == Decimal("0.00")


def test_the_most_specific_zone_prices_the_order(world, session):
    world.product("BOX", weight="1")
    munich = Customer(name="Bo GmbH", country="DE", region="Bayern", postal_code="80331")
    session.add(munich)
    session.commit()
    order = world.order({"BOX": 1}, confirm=False, customer=munich)
    assert world.refresh(order).shipping_charge == Decimal("3.50")  # the zone DE-80 rate
    assert facts_of(session, world.refresh(order))["logistics.destination_zone"] == "DE-80"


def test_changing_the_order_prices_it_again(world, session):
    world.product("BOX", weight="1")
    order = world.order({"BOX": 1}, confirm=False)
    update_order(session, order.id, {"lines": [{"sku": "BOX", "quantity": Decimal(9)}]})
    assert world.refresh(order).shipping_charge == Decimal("9.90")


def test_a_value_based_service_prices_by_the_order_total(world, session):
    world.product("PEN", weight="0.1", price="40.00")
    world.set("logistics.default_service", "PX/express")
    cheap = world.order({"PEN": 2}, confirm=False)    # 80.00: up to 100
    dear = world.order({"PEN": 4}, confirm=False)     # 160.00: no limit
    assert world.refresh(cheap).shipping_charge == Decimal("12.00")
    assert world.refresh(dear).shipping_charge == Decimal("15.00")


def test_the_carrier_an_order_names_beats_the_default(world, session):
    world.product("PEN", weight="0.1", price="40.00")
    order = world.order({"PEN": 1}, confirm=False)
    assert world.refresh(order).shipping_charge == Decimal("4.90")
    loaded = world.refresh(order)
    loaded.carrier = "PX/express"  # as an import of history sets it
    session.commit()
    update_order(session, order.id, {"note": "express please"})
    assert world.refresh(order).shipping_charge == Decimal("12.00")


def test_an_unknown_carrier_is_refused_naming_the_field(world, session):
    world.product("PEN", weight="0.1")
    order = world.order({"PEN": 1}, confirm=False)
    loaded = world.refresh(order)
    loaded.carrier = "NOPE/fast"
    session.commit()
    from erpkit.problems import ValidationFailed

    try:
        update_order(session, order.id, {"note": "x"})
    except ValidationFailed as exc:
        assert [p.field for p in exc.problems] == ["carrier"]
        assert "NOPE/fast" in exc.problems[0].message
    else:
        raise AssertionError("an unknown carrier service was accepted")
    assert world.refresh(order).note is None  # nothing changed


def test_facts_name_the_zone_the_service_and_the_cost(world, session):
    world.product("BOX", weight="1.5")
    order = world.order({"BOX": 2}, confirm=False)
    facts = facts_of(session, world.refresh(order))
    assert facts["logistics.destination_zone"] == "DE"
    assert facts["logistics.service"] == "PX/standard"
    assert facts["logistics.shipping_cost"] == Decimal("4.90")
    assert isinstance(facts["logistics.shipping_cost"], Decimal)


def test_the_quote_endpoint_explains_the_price(world, as_role):
    sales = as_role("sales")
    world.product("BOX", weight="1.5")
    order = world.order({"BOX": 2}, confirm=False)
    world.session.commit()
    response = sales.get(f"/api/logistics/orders/{order.id}/quote")
    assert response.status_code == 200, response.json
    assert response.json["price"] == "4.90"
    assert response.json["transit_days"] == 2
    assert "bracket up to 5" in response.json["explanation"]

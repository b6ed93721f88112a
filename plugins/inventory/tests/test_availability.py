"""Availability for the order form: a warning or a refusal when a line asks for more than
there is, and the facts approval rules test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpkit import ValidationFailed
from erpkit.plugins import current_registry
from erpkit_inventory import stock
from erpkit_inventory.availability import availability, order_facts
from erpkit_orders.intake import create_order

from .conftest import q


def _draft(shop, lines):
    return create_order(shop.session, {
        "customer_id": shop.customer.id, "channel": "web",
        "lines": [{"sku": sku, "quantity": Decimal(n)} for sku, n in lines.items()]})


def test_availability_by_product_sums_the_open_warehouses(shop):
    shop.receive("W-1", "MAIN", 5)
    shop.receive("W-1", "EAST", 2)
    shop.order({"W-1": 3})

    [widget] = availability(shop.session, sku="W-1")

    assert (widget.on_hand, widget.reserved, widget.available) == (q(7), q(3), q(4))
    assert [(w.warehouse, w.available) for w in widget.warehouses] == [("EAST", q(2)),
                                                                        ("MAIN", q(2))]


def test_a_closed_warehouse_is_not_available(shop):
    shop.receive("W-1", "EAST", 2)
    shop.receive("W-1", "MAIN", 5)
    stock.warehouse_by_code(shop.session, "EAST").active = False
    shop.session.commit()

    [widget] = availability(shop.session, sku="W-1")

    assert widget.available == q(5)


def test_by_default_an_order_beyond_availability_is_created_with_a_warning(shop):
    shop.receive("W-1", "MAIN", 7)

    intake = _draft(shop, {"G-1": 1, "W-1": 10})

    assert [(w.field, w.line, w.code, w.message) for w in intake.warnings] == [
        ("lines.0.quantity", 1, "insufficient_stock", "G-1: 1 short (0 available, 1 ordered)"),
        ("lines.1.quantity", 2, "insufficient_stock", "W-1: 3 short (7 available, 10 ordered)")]


def test_the_check_can_refuse_or_say_nothing(shop):
    shop.receive("W-1", "MAIN", 7)
    shop.set("inventory.availability_check", "refuse")
    with pytest.raises(ValidationFailed) as refused:
        _draft(shop, {"W-1": 10})
    assert [p.message for p in refused.value.problems] == [
        "W-1: 3 short (7 available, 10 ordered)"]

    shop.set("inventory.availability_check", "off")
    assert _draft(shop, {"W-1": 10}).warnings == []


def test_facts_say_whether_and_how_much_an_order_is_short(shop):
    shop.receive("W-1", "MAIN", 7)
    short = _draft(shop, {"W-1": 10, "G-1": 2}).order
    covered = _draft(shop, {"W-1": 7}).order

    def facts(order):
        merged = {}
        for found in current_registry().call("erpkit_order_facts", order=order,
                                             session=shop.session):
            merged.update(found)
        return {k: v for k, v in merged.items() if k.startswith("inventory.")}

    assert facts(short) == {"inventory.has_shortage": True,
                            "inventory.shortage_quantity": q(5)}
    assert facts(covered) == {"inventory.has_shortage": False,
                              "inventory.shortage_quantity": q(0)}
    assert {"inventory.has_shortage", "inventory.shortage_quantity"} <= set(
        current_registry().facts)


def test_an_order_holding_its_stock_has_no_shortage(shop):
    shop.receive("W-1", "MAIN", 5)
    order = shop.order({"W-1": 5})

    assert order_facts(shop.session, order) == {"inventory.has_shortage": False,
                                                "inventory.shortage_quantity": q(0)}

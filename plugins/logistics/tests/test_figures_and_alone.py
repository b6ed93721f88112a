"""Figures for reporting, and the module working with orders alone (no inventory)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from erpkit_logistics import figures, shipments
from erpkit_logistics.models import LogisticsShipment, ShipmentEvent


def backdate(world, shipment, *, ordered_days_ago, shipped_days_ago, delivered_days_ago):
    """Move a finished shipment's history back in time, as an old one would be."""
    found = world.refresh(shipment)
    now = found.delivered_at
    order = found.order
    order.ordered_at = now - timedelta(days=ordered_days_ago)
    found.created_at = now - timedelta(days=shipped_days_ago)
    found.handed_over_at = now - timedelta(days=shipped_days_ago)
    found.delivered_at = now - timedelta(days=delivered_days_ago)
    world.session.commit()


def test_figures_give_days_to_ship_and_deliver_and_exceptions_by_carrier_and_zone(world,
                                                                                 as_role):
    analyst = as_role("analyst")
    world.product("A", weight="1")
    one = world.handed_over(world.order({"A": 1}), "PX-1")
    two = world.handed_over(world.order({"A": 1}), "PX-2")
    shipments.report_exception(world.session, two.id, "damaged box")
    for shipment in (one, two):
        shipments.mark_delivered(world.session, shipment.id)
    backdate(world, one, ordered_days_ago=5, shipped_days_ago=4, delivered_days_ago=2)
    backdate(world, two, ordered_days_ago=3, shipped_days_ago=2, delivered_days_ago=1)
    [row] = figures.figures(world.session)
    assert (row.carrier, row.zone, row.shipments, row.delivered, row.exceptions) == (
        "PX", "DE", 2, 2, 1)
    assert row.order_to_ship_days == Decimal("1.00")       # (1 + 1) / 2
    assert row.ship_to_delivery_days == Decimal("1.50")    # (2 + 1) / 2
    world.session.commit()
    api = analyst.get("/api/logistics/figures").json
    assert api == [{"carrier": "PX", "zone": "DE", "shipments": 2, "handed_over": 2,
                    "delivered": 2, "exceptions": 1, "returned": 0,
                    "order_to_ship_days": "1.00", "ship_to_delivery_days": "1.50"}]


def test_orders_and_logistics_alone_run_a_whole_shipment(world, session):
    registry = current_app.extensions["erpkit"]
    assert list(registry.plugins) == ["orders", "logistics"]
    world.product("A", weight="1")
    order = world.order({"A": 1})
    shipment = world.handed_over(order, "PX-A")
    assert shipment.warehouse == "MAIN"  # no inventory: the parameter's warehouse
    shipments.mark_delivered(session, shipment.id)
    assert world.refresh(order).status == "delivered"
    assert session.scalar(sa.select(sa.func.count()).select_from(ShipmentEvent)) == 4
    assert session.scalar(sa.select(sa.func.count()).select_from(LogisticsShipment)) == 1

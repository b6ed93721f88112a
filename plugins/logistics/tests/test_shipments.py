"""Shipments drive the order through the orders lifecycle: hand-over ships the lines,
the last delivery delivers the order, a return after delivery returns it; each change
commits with its order move or not at all."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit import TransitionRefused
from erpkit.db import db
from erpkit_logistics import shipments
from erpkit_logistics.models import BinLocation, LogisticsShipment
from erpkit_logistics.picking import picking_list
from erpkit_orders.models import Order, TimelineEvent
from erpkit_orders.models import Shipment as OrderShipment


def test_two_partial_shipments_move_the_order_to_partially_shipped_then_shipped(world):
    world.product("A", weight="1")
    world.product("B", weight="2")
    order = world.order({"A": 3, "B": 1})
    line_a, line_b = world.refresh(order).lines
    first = world.handed_over(order, "PX-1", quantities={line_a.id: 2})
    assert world.refresh(order).status == "partially_shipped"
    assert first.status == "handed_to_carrier" and first.orders_shipment_id is not None
    second = world.handed_over(order, "PX-2")  # the rest: one A and the B
    assert {(i.order_line_id, i.quantity) for i in second.items} == {
        (line_a.id, Decimal(1)), (line_b.id, Decimal(1))}
    shipped = world.refresh(order)
    assert shipped.status == "shipped"
    assert [s.tracking for s in shipped.shipments] == ["PX-1", "PX-2"]
    shipments.mark_delivered(world.session, first.id, actor="driver")
    assert world.refresh(order).status == "shipped"  # one of two delivered
    shipments.mark_delivered(world.session, second.id, actor="driver")
    assert world.refresh(order).status == "delivered"


def test_a_return_after_delivery_returns_the_order(world):
    world.product("A", weight="1")
    order = world.order({"A": 1})
    shipment = world.handed_over(order, "PX-9")
    shipments.mark_delivered(world.session, shipment.id)
    shipments.mark_returned(world.session, shipment.id, reason="refused by the customer")
    assert world.refresh(order).status == "returned"
    assert world.refresh(shipment).status == "returned"


def test_a_shipment_cannot_hand_over_before_it_is_packed_and_nothing_changes(world):
    world.product("A", weight="1")
    order = world.order({"A": 1})
    shipment = world.shipment(order)
    with pytest.raises(TransitionRefused, match="cannot hand over"):
        shipments.hand_over(world.session, shipment.id)
    assert world.refresh(shipment).status == "picking"
    assert world.refresh(order).status == "confirmed"
    assert world.session.scalar(sa.select(sa.func.count()).select_from(OrderShipment)) == 0


def test_a_refused_hand_over_leaves_shipment_and_order_as_they_were(make_app):
    """Another plugin refusing the shipping rolls back the shipment's change too."""
    from erpkit.testing import make_plugin

    from .conftest import World

    def refuse(order, shipment, transition):
        raise TransitionRefused("the customs papers are missing", code="no_papers")

    refusing = make_app(make_plugin("customs", requires=("orders",),
                                    erpkit_order_shipped=refuse))
    with refusing.app_context():
        world = World(db.session)
        world.product("A", weight="1")
        order = world.order({"A": 1})
        shipment = world.ready(world.shipment(order), "PX-5")
        with pytest.raises(TransitionRefused, match="customs papers"):
            shipments.hand_over(db.session, shipment.id)
        assert world.refresh(shipment).status == "packed"
        assert world.refresh(shipment).orders_shipment_id is None
        assert world.refresh(order).status == "confirmed"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderShipment)) == 0
        db.session.rollback()


def test_a_shipment_of_more_than_is_left_is_refused_naming_the_line(world):
    world.product("A", weight="1")
    order = world.order({"A": 2})
    line = world.refresh(order).lines[0]
    world.shipment(order, {line.id: 1})
    with pytest.raises(TransitionRefused, match=r"1\.000 is left") as refused:
        world.shipment(order, {line.id: 2})
    assert refused.value.field == f"lines.{line.id}.quantity"


def test_an_order_that_is_not_confirmed_gets_no_shipment(world):
    world.product("A", weight="1")
    draft = world.order({"A": 1}, confirm=False)
    with pytest.raises(TransitionRefused, match="only confirmed"):
        world.shipment(draft)


def test_the_picking_list_walks_the_bins_in_shelf_order(world, session):
    for sku, bin_code in (("A", "B-10"), ("B", "A-2"), ("C", "B-2"), ("D", None)):
        product = world.product(sku, weight="1")
        if bin_code:
            session.add(BinLocation(product_id=product.id, warehouse="MAIN", bin=bin_code))
    session.commit()
    world.shipment(world.order({"A": 1, "D": 1}))
    world.shipment(world.order({"B": 2, "C": 1}))
    lines = picking_list(session, "MAIN")
    assert [(line.bin, line.sku) for line in lines] == [
        ("A-2", "B"), ("B-2", "C"), ("B-10", "A"), (None, "D")]
    assert picking_list(session, "OTHER") == []


def test_the_api_runs_a_shipment_from_creation_to_delivery(world, as_role):
    clerk = as_role("warehouse")
    world.product("A", weight="1")
    order = world.order({"A": 2})
    world.session.commit()
    created = clerk.post("/api/logistics/shipments", json={"order_id": order.id})
    assert created.status_code == 201, created.json
    sid = created.json["id"]
    assert created.json["status"] == "picking" and created.json["zone"] == "DE"
    assert clerk.post(f"/api/logistics/shipments/{sid}/pick").json["picked_at"]
    packed = clerk.post(f"/api/logistics/shipments/{sid}/pack", json={"packages": [
        {"weight_kg": "1.2", "length_cm": "30", "width_cm": "20", "height_cm": "10",
         "tracking": "PX-77"}, {"weight_kg": "0.9"}]})
    assert packed.status_code == 200, packed.json
    assert packed.json["status"] == "packed" and packed.json["weight_kg"] == "2.100"
    handed = clerk.post(f"/api/logistics/shipments/{sid}/hand-over")
    assert handed.json["status"] == "handed_to_carrier"
    assert handed.json["order_status"] == "shipped"
    delivered = clerk.post(f"/api/logistics/shipments/{sid}/deliver", json={"place": "door"})
    assert delivered.json["order_status"] == "delivered"
    detail = clerk.get(f"/api/logistics/shipments/{sid}").json
    assert [e["status"] for e in detail["events"]] == [
        "picking", "packed", "handed_to_carrier", "delivered"]


def test_bad_input_gets_422_naming_the_field_and_a_refusal_409(world, as_role):
    clerk, sales = as_role("warehouse"), as_role("sales")
    world.product("A", weight="1")
    order = world.order({"A": 1})
    world.session.commit()
    sid = clerk.post("/api/logistics/shipments", json={"order_id": order.id}).json["id"]
    bad = clerk.post(f"/api/logistics/shipments/{sid}/pack",
                     json={"packages": [{"weight_kg": "-1"}]})
    assert bad.status_code == 422
    assert "weight_kg" in str(bad.json)
    early = clerk.post(f"/api/logistics/shipments/{sid}/hand-over")
    assert early.status_code == 409 and early.json["code"] == "not_allowed"
    assert sales.post(f"/api/logistics/shipments/{sid}/pick").status_code == 403


def test_each_change_writes_the_orders_timeline_once(world, session):
    world.product("A", weight="1")
    order = world.order({"A": 1})
    world.handed_over(order, "PX-3")
    moves = session.scalars(sa.select(TimelineEvent.to_status).where(
        TimelineEvent.order_id == order.id, TimelineEvent.kind == "status")).all()
    assert moves.count("shipped") == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(LogisticsShipment)) == 1
    assert session.get(Order, order.id).shipped_at is not None

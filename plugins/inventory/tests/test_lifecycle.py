"""Stock follows the order: confirm reserves, cancel releases, ship consumes exactly what
left, a return restocks; every move is a ledger row and the levels always agree."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from erpkit import TransitionRefused
from erpkit.db import utcnow
from erpkit_inventory import stock
from erpkit_inventory.ledger import check_drift
from erpkit_inventory.models import Backorder, LedgerEntry
from erpkit_inventory.replenishment import set_rule
from erpkit_orders import lifecycle
from erpkit_orders.models import TimelineEvent

from .conftest import q


def test_confirming_reserves_from_the_warehouse_with_most_available(shop):
    shop.receive("W-1", "MAIN", 10)
    shop.receive("W-1", "EAST", 4)

    order = shop.order({"W-1": 6})

    assert shop.status(order) == "confirmed"
    assert shop.level("W-1", "MAIN") == (q(10), q(6))
    assert shop.level("W-1", "EAST") == (q(4), q(0))
    assert shop.ledger(order) == [("reservation", "W-1", "MAIN", q(0), q(6))]
    entry = shop.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.order_id == order.id))
    assert (entry.actor, entry.order_line_id) == ("sales", order.lines[0].id)
    assert entry.reason == f"reserved for order {order.number}"
    assert check_drift(shop.session) == []


def test_the_preferred_warehouse_is_drawn_first_then_the_most_available(shop):
    shop.receive("W-1", "MAIN", 10)
    shop.receive("W-1", "EAST", 4)
    shop.set("inventory.preferred_warehouse", "EAST")

    order = shop.order({"W-1": 6})

    assert shop.held(order) == {("W-1", "EAST"): q(4), ("W-1", "MAIN"): q(2)}
    assert shop.level("W-1", "EAST") == (q(4), q(4))
    assert shop.level("W-1", "MAIN") == (q(10), q(2))


def test_a_shortage_refuses_confirmation_naming_product_and_shortfall(shop):
    shop.receive("W-1", "MAIN", 5)
    shop.receive("W-1", "EAST", 2)
    shop.receive("G-1", "MAIN", 10)
    shop.set("orders.auto_confirm", "false")
    order = shop.order({"G-1": 1, "W-1": 10})
    assert shop.status(order) == "approved"

    with pytest.raises(TransitionRefused) as refused:
        lifecycle.confirm(shop.session, order.id, actor="sales")

    assert refused.value.message == "not enough stock: W-1: 3 short (7 available, 10 ordered)"
    assert refused.value.plugin == "inventory"
    assert shop.status(order) == "approved"
    assert shop.ledger(order) == [] and shop.held(order) == {}
    assert shop.level("G-1", "MAIN") == (q(10), q(0))


def test_with_auto_confirm_a_refused_confirmation_leaves_the_order_approved_with_a_note(shop):
    shop.receive("W-1", "MAIN", 1)

    order = shop.order({"W-1": 2})

    assert shop.status(order) == "approved"
    notes = shop.session.scalars(sa.select(TimelineEvent.message).where(
        TimelineEvent.order_id == order.id, TimelineEvent.kind == "note")).all()
    assert "confirmation refused (inventory): not enough stock: W-1: 1 short (1 available, " \
           "2 ordered)" in notes
    assert shop.level("W-1", "MAIN") == (q(1), q(0))


def test_the_backorder_policy_reserves_what_there_is_and_owes_the_rest(shop):
    shop.receive("W-1", "MAIN", 7)
    shop.set("inventory.shortage_policy", "backorder")

    order = shop.order({"W-1": 10})

    assert shop.status(order) == "confirmed"
    assert shop.level("W-1", "MAIN") == (q(7), q(7))
    backorder = shop.session.scalar(sa.select(Backorder).where(Backorder.order_id == order.id))
    assert q(backorder.quantity) == q(3)
    notes = shop.session.scalars(sa.select(TimelineEvent.message).where(
        TimelineEvent.order_id == order.id, TimelineEvent.kind == "note")).all()
    assert "backordered W-1: 3 short (7 available, 10 ordered)" in notes


def test_cancelling_releases_every_reservation(shop):
    shop.receive("W-1", "MAIN", 3)
    shop.receive("W-1", "EAST", 3)
    order = shop.order({"W-1": 5})

    lifecycle.cancel(shop.session, order.id, actor="sales", reason="customer changed mind")

    assert shop.level("W-1", "MAIN") == (q(3), q(0))
    assert shop.level("W-1", "EAST") == (q(3), q(0))
    assert shop.held(order) == {}
    assert sorted(shop.ledger(order)) == sorted([
        ("reservation", "W-1", "MAIN", q(0), q(3)), ("reservation", "W-1", "EAST", q(0), q(2)),
        ("release", "W-1", "MAIN", q(0), q(-3)), ("release", "W-1", "EAST", q(0), q(-2))])
    assert check_drift(shop.session) == []


def test_partial_then_complete_shipment_consume_exactly_what_left(shop):
    shop.receive("W-1", "MAIN", 10)
    shop.receive("G-1", "MAIN", 5)
    order = shop.order({"W-1": 6, "G-1": 2})
    widgets = order.lines[0]

    lifecycle.ship(shop.session, order.id, quantities={widgets.id: q(4)})
    assert shop.status(order) == "partially_shipped"
    assert shop.level("W-1", "MAIN") == (q(6), q(2))
    assert shop.level("G-1", "MAIN") == (q(5), q(2))

    lifecycle.ship(shop.session, order.id)
    assert shop.status(order) == "shipped"
    assert shop.level("W-1", "MAIN") == (q(4), q(0))
    assert shop.level("G-1", "MAIN") == (q(3), q(0))
    shipments = [e for e in shop.ledger(order) if e[0] == "shipment"]
    assert shipments == [("shipment", "W-1", "MAIN", q(-4), q(-4)),  # the partial one
                         ("shipment", "W-1", "MAIN", q(-2), q(-2)),
                         ("shipment", "G-1", "MAIN", q(-2), q(-2))]
    assert shop.held(order) == {}
    assert check_drift(shop.session) == []


def test_a_return_restocks_where_the_goods_left_from(shop):
    shop.receive("W-1", "MAIN", 4)
    shop.receive("W-1", "EAST", 4)
    order = shop.order({"W-1": 6})
    lifecycle.ship(shop.session, order.id)
    lifecycle.deliver(shop.session, order.id)
    assert shop.level("W-1", "MAIN")[0] + shop.level("W-1", "EAST")[0] == q(2)

    lifecycle.return_order(shop.session, order.id, actor="warehouse", reason="damaged box")

    assert shop.level("W-1", "MAIN") == (q(4), q(0))
    assert shop.level("W-1", "EAST") == (q(4), q(0))
    returns = [e for e in shop.ledger(order) if e[0] == "return"]
    assert sorted(returns) == [("return", "W-1", "EAST", q(2), q(0)),
                               ("return", "W-1", "MAIN", q(4), q(0))]
    assert check_drift(shop.session) == []


def test_a_backordered_line_ships_from_stock_that_arrived_later(shop):
    shop.receive("W-1", "MAIN", 2)
    shop.set("inventory.shortage_policy", "backorder")
    order = shop.order({"W-1": 5})
    shop.receive("W-1", "EAST", 10)

    lifecycle.ship(shop.session, order.id)

    assert shop.level("W-1", "MAIN") == (q(0), q(0))
    assert shop.level("W-1", "EAST") == (q(7), q(0))
    backorder = shop.session.scalar(sa.select(Backorder).where(Backorder.order_id == order.id))
    assert q(backorder.quantity) == q(0)
    assert check_drift(shop.session) == []


def test_shipping_more_than_is_there_is_refused_and_changes_nothing(shop):
    shop.receive("W-1", "MAIN", 2)
    shop.set("inventory.shortage_policy", "backorder")
    order = shop.order({"W-1": 5})
    before = shop.ledger()

    with pytest.raises(TransitionRefused, match="cannot ship W-1: 3 short"):
        lifecycle.ship(shop.session, order.id)

    assert shop.status(order) == "confirmed"
    assert shop.ledger() == before
    assert shop.level("W-1", "MAIN") == (q(2), q(2))


def test_a_backordered_line_moves_the_promise_out_by_the_supplier_lead_time(shop):
    shop.receive("W-1", "MAIN", 7)
    shop.set("inventory.shortage_policy", "backorder")
    widget = stock.product_by_sku(shop.session, "W-1")
    set_rule(shop.session, widget.id, None, reorder_point=q(5), order_up_to=q(50),
             lead_time_days=12)
    shop.session.commit()
    usual = utcnow().date() + timedelta(days=3)  # orders.default_lead_days

    covered = shop.order({"W-1": 4})
    short = shop.order({"W-1": 10})

    assert covered.promised_date == usual
    assert short.promised_date == usual + timedelta(days=12)

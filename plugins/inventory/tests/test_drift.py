"""The ledger is the truth: the drift check recomputes every level from it."""

from __future__ import annotations

import sqlalchemy as sa

from erpkit_inventory.ledger import check_drift
from erpkit_inventory.models import StockLevel, Warehouse
from erpkit_orders.models import Product

from .conftest import q


def _level_id(session, sku, code):
    return session.scalar(sa.select(StockLevel.id).join(Product).join(Warehouse)
                          .where(Product.sku == sku, Warehouse.code == code))


def test_a_level_changed_behind_the_ledgers_back_is_reported(shop):
    shop.receive("W-1", "MAIN", 10)
    shop.order({"W-1": 4})
    assert check_drift(shop.session) == []

    shop.session.execute(sa.update(StockLevel).where(
        StockLevel.id == _level_id(shop.session, "W-1", "MAIN")).values(on_hand=12))
    shop.session.commit()

    [drift] = check_drift(shop.session)
    assert (drift.sku, drift.warehouse, drift.figure, drift.level, drift.expected) == (
        "W-1", "MAIN", "on_hand", q(12), q(10))
    assert str(drift) == "W-1 in MAIN: on_hand is 12 but the ledger adds up to 10 (difference 2)"


def test_reserved_is_checked_against_the_ledger_and_the_reservations(shop):
    shop.receive("W-1", "MAIN", 10)
    shop.order({"W-1": 4})
    shop.session.execute(sa.update(StockLevel).values(reserved=1))
    shop.session.commit()

    assert {(d.figure, d.source, d.expected) for d in check_drift(shop.session)} == {
        ("reserved", "ledger", q(4)), ("reserved", "reservations", q(4))}


def test_the_check_command_exits_1_on_drift_and_0_when_all_agree(shop, cli):
    shop.receive("G-1", "EAST", 3)
    agreed = cli("inventory", "check")
    assert agreed.exit_code == 0, agreed.output
    assert "stock levels match the ledger" in agreed.output

    shop.session.execute(sa.update(StockLevel).values(on_hand=0))
    drifted = cli("inventory", "check")

    assert drifted.exit_code == 1
    assert "drift: G-1 in EAST: on_hand is 0 but the ledger adds up to 3" in drifted.output

"""Eight receipts of one purchase order line at once never receive more than ordered."""

from __future__ import annotations

import threading
from decimal import Decimal

import sqlalchemy as sa

from erpkit import ValidationFailed
from erpkit.db import db
from erpkit.transitions import run_atomic
from erpkit_inventory.ledger import check_drift
from erpkit_inventory.models import LedgerEntry
from erpkit_purchasing import purchase_orders, receiving
from erpkit_purchasing.models import PurchaseOrder, PurchaseOrderLine, Receipt

from .conftest import q

RECEIVERS = 8


def test_concurrent_receipts_never_receive_more_than_ordered(app, shop, users):
    boss = users.create("boss", "admin")
    shop.warehouse("MAIN")
    shop.product("Z")
    shop.offer(shop.supplier("S1"), "Z", price=Decimal("1.25"))
    order = purchase_orders.create_order(shop.session, supplier="S1", warehouse="MAIN",
                                         lines=[{"sku": "Z", "quantity": q(10)}], actor="buyer")
    purchase_orders.approve(shop.session, order, actor=boss)
    purchase_orders.send(shop.session, order, actor="buyer")
    order_id, line_id = order.id, order.lines[0].id
    shop.session.commit()  # SQLite: no transaction of ours may hold the write lock now

    start = threading.Barrier(RECEIVERS)
    outcome: list[str] = []
    errors: list[BaseException] = []

    def receiver(worker: int) -> None:
        try:
            with app.app_context():
                start.wait()
                try:
                    run_atomic(db.session, lambda: receiving.receive_line(
                        db.session, order_id, line_id, q(3), actor=f"receiver-{worker}"))
                    outcome.append("received")
                except ValidationFailed as exc:
                    outcome.append(str(exc))
        except BaseException as exc:  # reported below: a crash is not a refusal
            errors.append(exc)

    threads = [threading.Thread(target=receiver, args=(i,)) for i in range(RECEIVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a receiver hung"
    assert errors == []

    # 3 + 3 + 3 = 9 fits in 10; every further 3 would pass it.
    assert outcome.count("received") == 3
    assert all("1 outstanding, cannot receive 3" in text
               for text in outcome if text != "received"), outcome
    line = shop.session.get(PurchaseOrderLine, line_id, populate_existing=True)
    assert q(line.received) == q(9)
    receipts = shop.session.scalars(sa.select(Receipt.quantity)).all()
    assert sorted(q(r) for r in receipts) == [q(3)] * 3
    booked = shop.session.scalar(sa.select(sa.func.sum(LedgerEntry.on_hand_change)).where(
        LedgerEntry.reference == receiving.line_reference(line_id)))
    assert q(booked) == q(9) and shop.on_hand("Z", "MAIN") == q(9)
    assert shop.session.get(PurchaseOrder, order_id).status == "partially_received"
    assert check_drift(shop.session) == []

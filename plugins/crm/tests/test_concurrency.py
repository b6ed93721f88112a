"""Two orders of one customer confirmed at the same moment can never both pass the credit
check: 8 threads, each with its own session and connection, confirm one customer's orders
at once through the real lifecycle."""

from __future__ import annotations

import threading
from decimal import Decimal

import sqlalchemy as sa

from erpkit import TransitionRefused
from erpkit.db import db
from erpkit_crm import credit
from erpkit_crm.models import CreditHold
from erpkit_orders import lifecycle
from erpkit_orders.models import Order

WORKERS = 8
ORDERS = 24


def run_threads(targets):
    errors: list[BaseException] = []

    def guarded(target):
        try:
            target()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return errors


def test_concurrent_confirmations_never_take_exposure_over_the_limit(app, shop):
    ada = shop.customer()
    shop.set("orders.auto_confirm", "false")
    shop.set("crm.default_credit_limit", "1000")
    # 24 orders of 120.00, 160.00 or 200.00: 3,840.00 asked against a limit of 1,000.00
    orders = [shop.order(ada, {"SHIRT": 3 + i % 3}).id for i in range(ORDERS)]
    values = {o: shop.session.get(Order, o).total for o in orders}
    shop.session.commit()
    outcome: dict[int, str] = {}
    start = threading.Barrier(WORKERS)

    def confirmer(worker: int) -> None:
        with app.app_context():
            start.wait()
            for order_id in orders[worker::WORKERS]:
                try:
                    lifecycle.confirm(db.session, order_id, actor=f"worker-{worker}")
                    outcome[order_id] = "confirmed"
                except TransitionRefused as exc:
                    assert exc.code == "credit_limit_exceeded", exc.message
                    outcome[order_id] = "refused"

    assert run_threads([lambda w=w: confirmer(w) for w in range(WORKERS)]) == []

    session = shop.session
    session.expire_all()
    confirmed = [o for o, result in outcome.items() if result == "confirmed"]
    assert len(outcome) == ORDERS and confirmed and len(confirmed) < ORDERS
    held = sum((values[o] for o in confirmed), Decimal("0.00"))
    figures = credit.credit_of(session, ada.id)
    assert figures.exposure == held <= Decimal("1000.00")
    # once the refusals started, nothing that would still fit was left unconfirmed
    assert all(values[o] > Decimal("1000.00") - held for o in outcome
               if outcome[o] == "refused")
    statuses = dict(session.execute(sa.select(Order.id, Order.status)
                                    .where(Order.id.in_(orders))).all())
    assert {o for o, s in statuses.items() if s == "confirmed"} == set(confirmed)
    holds = session.scalars(sa.select(CreditHold.order_id)).all()
    assert set(holds) == set(confirmed)

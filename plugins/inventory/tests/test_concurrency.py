"""Never oversell: many workers confirming orders for the same scarce stock at once.

Real threads, each in its own app context (so its own session and connection), call the
real lifecycle while other threads move stock between the same warehouses. Afterwards
the stock must be exactly explained: nothing negative, nothing reserved beyond what is on
hand, reservations adding up to the levels, and every refused order untouched.
"""

from __future__ import annotations

import re
import threading
import time
import types
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit import PluginMeta, TransitionFailed, TransitionRefused, ValidationFailed, hookimpl
from erpkit.db import db, utcnow
from erpkit.testing import BACKEND_IS_POSTGRESQL
from erpkit.transitions import run_atomic
from erpkit_inventory import stock
from erpkit_inventory.ledger import check_drift
from erpkit_inventory.models import LedgerEntry, Reservation, StockLevel, Warehouse
from erpkit_orders import lifecycle
from erpkit_orders.models import Order, Product, TimelineEvent

from .conftest import q

CONFIRMERS = 8
MOVERS = 2
ORDERS = 32
REFUSAL = re.compile(r"^not enough stock: (W-1|G-1): \d+ short \(\d+ available, \d+ ordered\)"
                     r"(; G-1: \d+ short \(\d+ available, \d+ ordered\))?$")


def wanted(index: int) -> dict[str, int]:
    """Order ``index`` asks for 1-3 widgets, and for 1-2 gadgets every other time."""
    lines = {"W-1": 1 + index % 3}
    if index % 2:
        lines["G-1"] = 1 + index % 4 // 2
    return lines


def snapshot(session: sa.orm.Session, order_id: int) -> tuple[Any, ...]:
    order = session.get(Order, order_id, populate_existing=True)
    events = session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)
                            .where(TimelineEvent.order_id == order_id))
    return order.status, order.version, events


def run_threads(targets: list[Any]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target: Any) -> None:
        try:
            target()
        except BaseException as exc:  # every unexpected error is reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return errors


def test_concurrent_confirmations_never_oversell(app, shop):
    started = time.monotonic()
    for sku, code, amount in (("W-1", "MAIN", 9), ("W-1", "EAST", 8),
                              ("G-1", "MAIN", 5), ("G-1", "EAST", 4)):
        shop.receive(sku, code, amount)
    shop.set("orders.auto_confirm", "false")
    orders = [shop.order(wanted(i)).id for i in range(ORDERS)]
    before = {order_id: snapshot(shop.session, order_id) for order_id in orders}
    assert {status for status, _, _ in before.values()} == {"approved"}
    shop.session.commit()

    outcome: dict[int, str] = {}
    moves = Counter()
    start = threading.Barrier(CONFIRMERS + MOVERS)
    # The confirmations start once a transfer has gone through (or was refused): on a
    # loaded machine they could otherwise reserve every unit before any mover ran, and
    # the test would show no transfer racing them.
    first_move = threading.Event()

    def confirmer(worker: int) -> None:
        with app.app_context():
            start.wait()
            first_move.wait(timeout=10)
            for order_id in orders[worker::CONFIRMERS]:
                try:
                    lifecycle.confirm(db.session, order_id, actor=f"worker-{worker}")
                    outcome[order_id] = "confirmed"
                except TransitionRefused as exc:
                    outcome[order_id] = exc.message

    def mover(worker: int) -> None:
        """Shuttle single units back and forth: locks both levels of a product."""
        with app.app_context():
            session = db.session
            start.wait()
            for step in range(12):
                sku = ("W-1", "G-1")[step % 2]
                source, target = ("MAIN", "EAST") if (step + worker) % 2 else ("EAST", "MAIN")

                def move(sku: str = sku, source: str = source, target: str = target) -> Any:
                    return stock.transfer(session, stock.product_by_sku(session, sku),
                                          stock.warehouse_by_code(session, source),
                                          stock.warehouse_by_code(session, target), 1,
                                          actor=f"mover-{worker}")

                try:
                    run_atomic(session, move)
                    moves["done"] += 1
                except ValidationFailed:  # nothing available to move right now
                    moves["refused"] += 1
                first_move.set()

    errors = run_threads([lambda w=w: confirmer(w) for w in range(CONFIRMERS)]
                         + [lambda w=w: mover(w) for w in range(MOVERS)])

    assert errors == []
    assert set(outcome) == set(orders)
    confirmed = [o for o, result in outcome.items() if result == "confirmed"]
    refused = {o: result for o, result in outcome.items() if result != "confirmed"}
    assert confirmed and refused, "the stock was meant to be too little for every order"
    assert all(REFUSAL.match(message) for message in refused.values()), refused

    session = shop.session
    session.expire_all()
    levels = session.execute(sa.select(StockLevel.product_id, StockLevel.on_hand,
                                       StockLevel.reserved)).all()
    for _product, on_hand, reserved in levels:
        assert q(on_hand) >= 0 and q(reserved) >= 0
        assert q(reserved) <= q(on_hand)
    on_hand_by_product = Counter()
    reserved_by_product = Counter()
    for product, on_hand, reserved in levels:
        on_hand_by_product[product] += q(on_hand)
        reserved_by_product[product] += q(reserved)
    widget, gadget = (stock.product_by_sku(session, s).id for s in ("W-1", "G-1"))
    assert on_hand_by_product == {widget: q(17), gadget: q(9)}  # transfers keep totals
    ordered = Counter()
    for order_id in confirmed:
        for sku, amount in wanted(orders.index(order_id)).items():
            ordered[widget if sku == "W-1" else gadget] += Decimal(amount)
    assert reserved_by_product == ordered
    assert check_drift(session) == []  # reservations add up to every level's reserved

    for order_id in confirmed:
        assert session.get(Order, order_id).status == "confirmed"
    for order_id in refused:
        assert snapshot(session, order_id) == before[order_id]
        assert session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)
                              .where(LedgerEntry.order_id == order_id)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Reservation)
                              .where(Reservation.order_id == order_id)) == 0
    assert moves["done"] > 0
    assert time.monotonic() - started < 20


def _locker_plugin(level_ids: dict[str, tuple[int, int]], first_attempt: threading.Barrier,
                   calls: Counter) -> types.ModuleType:
    """A plugin that, on confirmation, touches two stock rows in an order-dependent order:
    the classic recipe for a deadlock between two transactions."""
    module = types.ModuleType("inprocess_locker")
    module.PLUGIN = PluginMeta(name="locker", requires=("orders",))  # type: ignore[attr-defined]

    def erpkit_order_confirmed(order: Any, transition: Any) -> None:
        calls[order.number] += 1
        first, second = level_ids[order.number]
        touch = sa.update(StockLevel).values(updated_at=utcnow())
        transition.session.execute(touch.where(StockLevel.id == first))
        if calls[order.number] == 1:
            first_attempt.wait(timeout=10)  # both now hold one row and want the other's
        transition.session.execute(touch.where(StockLevel.id == second))

    module.erpkit_order_confirmed = hookimpl(erpkit_order_confirmed)  # type: ignore[attr-defined]
    return module


@pytest.mark.skipif(not BACKEND_IS_POSTGRESQL,
                    reason="SQLite serialises writers: it cannot deadlock")
def test_a_deadlock_in_a_transition_is_run_again_and_never_reaches_the_user(make_app, shop):
    shop.product("Z-1")
    for sku in ("W-1", "G-1", "Z-1"):
        shop.receive(sku, "MAIN", 10)
        shop.receive(sku, "EAST", 10)
    shop.set("orders.auto_confirm", "false")
    # Different products, so that inventory's own locks never make one wait for the other.
    one, two = shop.order({"W-1": 1}), shop.order({"G-1": 1})
    main, east = (shop.session.scalar(
        sa.select(StockLevel.id).join(Warehouse).join(Product)
        .where(Warehouse.code == code, Product.sku == "Z-1")) for code in ("MAIN", "EAST"))
    calls: Counter = Counter()
    locker = _locker_plugin({one.number: (main, east), two.number: (east, main)},
                            threading.Barrier(2), calls)
    app = make_app(EXTRA_PLUGINS=[locker])
    ids = [one.id, two.id]
    shop.session.commit()

    def confirm(order_id: int) -> None:
        with app.app_context():
            lifecycle.confirm(db.session, order_id, actor="worker")

    errors = run_threads([lambda i=i: confirm(i) for i in ids])

    assert errors == []
    assert [shop.status(o) for o in (one, two)] == ["confirmed", "confirmed"]
    assert sorted(calls.values()) == [1, 2]  # PostgreSQL aborted one; it ran again
    assert shop.level("W-1", "MAIN")[1] + shop.level("W-1", "EAST")[1] == q(1)
    assert shop.level("G-1", "MAIN")[1] + shop.level("G-1", "EAST")[1] == q(1)
    assert check_drift(shop.session) == []


class FakeDeadlock(Exception):
    sqlstate = "40P01"  # what psycopg reports for deadlock_detected


def test_only_database_conflicts_are_run_again(session):
    attempts: list[int] = []

    def conflicting() -> str:
        attempts.append(1)
        if len(attempts) < 3:  # as a plugin's hook would raise it, wrapped by the core
            raise TransitionFailed("inventory", sa.exc.OperationalError("UPDATE", {},
                                                                        FakeDeadlock()))
        return "done"

    assert run_atomic(session, conflicting) == "done"
    assert len(attempts) == 3

    refusals: list[int] = []

    def refused() -> None:
        refusals.append(1)
        raise TransitionRefused("no stock")

    with pytest.raises(TransitionRefused):
        run_atomic(session, refused)
    assert len(refusals) == 1

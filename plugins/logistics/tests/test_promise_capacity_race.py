"""Capacity already promised is never promised twice: 8 confirmations at once, each in
its own thread and session, against a work centre that makes 5 chairs a day."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from erpkit.db import db
from erpkit_logistics import promise_records
from erpkit_logistics.models import CapacityBooking, CapacityDay, MadeToOrder, WorkCentre
from erpkit_orders import lifecycle
from erpkit_orders.models import Order

CONFIRMERS = 8
CAPACITY = 5


def test_concurrent_confirmations_never_book_more_than_the_capacity(app, world, monkeypatch):
    centre = WorkCentre(code="WC-1", name="Workshop", daily_capacity=Decimal(CAPACITY))
    world.session.add(centre)
    world.session.flush()
    chair = world.product("CHAIR", "8.0")
    world.session.add(MadeToOrder(product_id=chair.id, work_centre_id=centre.id, lead_days=3))
    world.session.commit()
    world.set("orders.auto_confirm", "false")
    orders = []
    for _ in range(CONFIRMERS):
        order = world.order({"CHAIR": 1}, confirm=False)
        lifecycle.submit(world.session, order.id)
        orders.append(order.id)
    world.session.commit()
    # Friday 4 Dec 2026, 10:00 UTC, for every thread (no calendars: Monday to Friday).
    monkeypatch.setattr(promise_records, "utcnow",
                        lambda: datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    start = threading.Barrier(CONFIRMERS)
    errors: list[BaseException] = []

    def confirm(order_id: int) -> None:
        try:
            with app.app_context():
                start.wait()
                lifecycle.confirm(db.session, order_id, actor="worker")
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=confirm, args=(order_id,)) for order_id in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a confirmation hung"
    assert errors == []

    session = world.session
    session.expire_all()
    booked = {day: Decimal(amount) for day, amount in session.execute(
        sa.select(CapacityDay.day, CapacityDay.booked)
        .where(CapacityDay.work_centre_id == centre.id))}
    assert all(amount <= CAPACITY for amount in booked.values())
    # Five chairs fit on Friday; the other three are made on Monday.
    assert booked == {date(2026, 12, 4): Decimal(5), date(2026, 12, 7): Decimal(3)}
    per_day = Counter()
    for day, amount in session.execute(sa.select(CapacityBooking.day,
                                                 CapacityBooking.quantity)):
        per_day[day] += Decimal(amount)
    assert per_day == booked  # the counters are exactly the bookings
    statuses = set(session.scalars(sa.select(Order.status).where(Order.id.in_(orders))))
    assert statuses == {"confirmed"}
    # Friday's chairs: ready Wed 9, then PX/standard's 2 days to DE: Thu 10, Fri 11.
    # Monday's: ready Thu 10, then Fri 11 and Mon 14.
    promised = Counter(session.scalars(sa.select(Order.promised_date)
                                       .where(Order.id.in_(orders))))
    assert promised == {date(2026, 12, 11): 5, date(2026, 12, 14): 3}

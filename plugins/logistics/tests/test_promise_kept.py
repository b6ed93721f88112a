"""Kept and measured: promised against actual delivery, and the alert before a promise
is missed."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from erpkit.plugins import current_registry
from erpkit.steps import overdue
from erpkit_logistics import promise_records, shipments
from erpkit_logistics.models import Carrier, CarrierService, LogisticsShipment, OrderPromise
from erpkit_logistics.promise_performance import promise_performance

ORDERS = 40


def rate(on_time: int, count: int) -> Decimal:
    return (Decimal(on_time) / count).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_the_on_time_rate_of_a_generated_history_equals_an_independent_count(world, as_role):
    quick = Carrier(code="QX", name="Quick")
    world.session.add(quick)
    world.session.flush()
    world.session.add(CarrierService(carrier_id=quick.id, code="std", name="Standard"))
    world.session.commit()
    world.product("A", "1")
    world.product("B", "1")
    pick = random.Random(16)
    expected: list[dict[str, Any]] = []
    for index in range(ORDERS):
        skus = pick.choice([{"A": 1}, {"B": 2}, {"A": 1, "B": 1}])
        order = world.order(skus)
        order.carrier = pick.choice(["PX/standard", "QX/std"])
        world.session.commit()
        warehouse = pick.choice(["MAIN", "EAST"])
        shipment = world.handed_over(order, f"T-{index}", warehouse=warehouse)
        shipments.mark_delivered(world.session, shipment.id)
        # History: promised some day in November, delivered 2 days early to 4 days late.
        promised = date(2026, 11, 1) + timedelta(days=pick.randrange(28))
        delivered = promised + timedelta(days=pick.randint(-2, 4))
        found = world.refresh(shipment)
        found.order.promised_date = promised
        found.delivered_at = datetime.combine(delivered, time(11, 30), tzinfo=UTC)
        world.session.commit()
        expected.append({"carrier": order.carrier.split("/")[0], "warehouse": warehouse,
                         "zone": "DE", "products": sorted(skus),
                         "late": max(0, (delivered - promised).days)})

    def independent(key: str) -> dict[str, tuple[int, Decimal, Decimal]]:
        groups: dict[str, list[int]] = defaultdict(list)
        for row in expected:
            for value in (row["products"] if key == "product" else
                          ["all"] if key == "order" else [row[key]]):
                groups[value].append(row["late"])
        return {k: (len(v), rate(sum(1 for late in v if late == 0), len(v)),
                    (Decimal(sum(v)) / len(v)).quantize(Decimal("0.01"), ROUND_HALF_UP))
                for k, v in groups.items()}

    for key in ("order", "carrier", "zone", "warehouse", "product"):
        got = {kept.key: (kept.orders, kept.on_time_rate, kept.average_days_late)
               for kept in promise_performance(world.session, key)}
        assert got == independent(key), key
    assert len(independent("carrier")) == 2 and len(independent("warehouse")) == 2

    world.session.commit()
    api = as_role("analyst").get("/api/logistics/promise-performance?by=carrier")
    assert api.status_code == 200
    assert {row["key"]: row["on_time_rate"] for row in api.json} == {
        key: str(value[1]) for key, value in independent("carrier").items()}
    bad = as_role("analyst").get("/api/logistics/promise-performance?by=colour")
    assert bad.status_code == 422
    assert bad.json["errors"][0]["field"] == "by"


def test_a_shipment_that_will_miss_its_promise_alerts_before_it_is_late(world, monkeypatch):
    world.product("A", "1")
    # Confirmed Friday 4 Dec 2026 at 10:00: PX/standard (cut-off 16:00, 2 days to DE)
    # promises Tue 8; the goods must reach the carrier by Friday 16:00.
    monkeypatch.setattr(promise_records, "utcnow",
                        lambda: datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    order = world.order({"A": 1})
    assert world.refresh(order).promised_date == date(2026, 12, 8)
    kept = world.session.scalars(sa.select(OrderPromise).where(
        OrderPromise.order_id == order.id, OrderPromise.current.is_(True))).one()
    assert kept.hand_over_by == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    registry = current_registry()
    # Warned 4 hours before (logistics.promise_warning): at 12:00, not at 11:59.
    at_1159 = [s for s in overdue(world.session, registry,
                                  datetime(2026, 12, 4, 11, 59, tzinfo=UTC))
               if s.declaration == "logistics.promise"]
    assert at_1159 == []
    [late] = [s for s in overdue(world.session, registry,
                                 datetime(2026, 12, 4, 12, 1, tzinfo=UTC))
              if s.declaration == "logistics.promise"]
    assert late.reference == order.number
    assert late.due_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert "must reach the carrier by 2026-12-04 16:00 UTC" in late.about
    # Once handed over, the order has shipped and nothing is due any more.
    world.handed_over(world.refresh(order), "PX-9")
    assert world.session.scalar(sa.select(LogisticsShipment.status)) == "handed_to_carrier"
    assert [s for s in overdue(world.session, registry,
                               datetime(2026, 12, 4, 12, 1, tzinfo=UTC))
            if s.declaration == "logistics.promise"] == []

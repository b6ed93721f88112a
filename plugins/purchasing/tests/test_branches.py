"""A central warehouse and two branches on a generated two-year history: the plan
transfers and buys what an independent computation (floats, from the raw series) gives,
and transfers pass through the ledger in transit and on arrival."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from erpkit.db import utcnow
from erpkit_inventory.availability import availability
from erpkit_inventory.ledger import check_drift
from erpkit_inventory.models import LedgerEntry, Warehouse
from erpkit_orders.models import Product
from erpkit_purchasing import branches
from erpkit_purchasing.models import PurchaseOrder, Transfer

from .conftest import days_before, noon, q

Z_95 = 1.644854
COVER = 7
LEAD = 5
PACK = 10
WINDOW = 28


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def sample_sd(values: list[float]) -> float:
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def write_history(shop, sku: str, code: str, series: dict) -> None:
    """Shipments on each day of ``series``, balanced by one receipt before them: written
    straight into the ledger (net zero, so levels and ledger still agree)."""
    product_id = shop.session.scalar(sa.select(Product.id).where(Product.sku == sku))
    warehouse_id = shop.session.scalar(sa.select(Warehouse.id).where(Warehouse.code == code))
    first = min(series)
    rows = [{"kind": "receipt", "product_id": product_id, "warehouse_id": warehouse_id,
             "on_hand_change": q(sum(series.values())), "reserved_change": q(0),
             "at": noon(first - timedelta(days=1)), "reason": "history", "actor": "test"}]
    rows += [{"kind": "shipment", "product_id": product_id, "warehouse_id": warehouse_id,
              "on_hand_change": -q(amount), "reserved_change": q(0), "at": noon(day),
              "reason": "history", "actor": "test"} for day, amount in series.items() if amount]
    shop.session.execute(sa.insert(LedgerEntry), rows)
    shop.session.commit()


def test_the_branch_plan_transfers_and_buys_what_an_independent_computation_gives(shop):
    central, east, west = (shop.warehouse(code) for code in ("HQ", "EAST", "WEST"))
    branches.set_route(shop.session, east, central, transfer_days=2)
    branches.set_route(shop.session, west, central, transfer_days=3)
    shop.session.commit()
    shop.product("P")
    shop.offer(shop.supplier("S1"), "P", price=Decimal("4.00"), pack_size=q(PACK),
               lead_time_days=LEAD, preferred=True)
    today = utcnow().date()
    rng = random.Random(2026)
    days = days_before(today, 730)
    # Two years, a weekly pattern plus noise; the branches sell more than the centre.
    history = {
        code: {day: float(max(0, round(base + 3 * (day.weekday() >= 5) + rng.gauss(0, 2))))
               for day in days}
        for code, base in (("HQ", 1.0), ("EAST", 5.0), ("WEST", 4.0))}
    for code, series in history.items():
        write_history(shop, "P", code, series)
    shop.receive("P", "HQ", 60)
    shop.receive("P", "EAST", 5)

    # Independently: the last 28 days of each series.
    recent = {code: [series[day] for day in days[-WINDOW:]] for code, series in history.items()}
    d = {code: mean(values) for code, values in recent.items()}
    sd = {code: sample_sd(values) for code, values in recent.items()}
    position = {"EAST": 5.0, "WEST": 0.0}
    need = {}
    for code, transfer_days in (("EAST", 2), ("WEST", 3)):
        target = d[code] * (transfer_days + COVER) + Z_95 * sd[code] * math.sqrt(transfer_days)
        need[code] = max(0, math.ceil(target - position[code]))
    total = sum(need.values())
    assert total > 60  # the centre cannot cover both: shared by need
    transfers = {code: 60 * amount // total for code, amount in need.items()}
    network_d = sum(d.values())
    network_var = sum(v ** 2 for v in sd.values())
    network_target = network_d * (LEAD + COVER) + Z_95 * math.sqrt(LEAD * network_var)
    buy = math.ceil((network_target - (60 + 5 + 0)) / PACK) * PACK

    plan = branches.plan_for(shop.session, central)
    assert {t.warehouse: float(t.need) for t in plan.transfers} == {
        code: float(amount) for code, amount in need.items()}
    assert {t.warehouse: float(t.quantity) for t in plan.transfers} == {
        code: float(amount) for code, amount in transfers.items()}
    (purchase,) = plan.purchases
    assert (purchase.supplier, purchase.warehouse) == ("S1", "HQ")
    assert abs(float(purchase.reorder_point) - network_target) < 1e-3
    assert float(purchase.quantity) == buy

    made = branches.apply_plan(shop.session, plan, actor="planner")
    shop.session.commit()
    moved = sum(transfers.values())
    assert shop.on_hand("P", "HQ") == q(60 - moved)
    assert shop.on_hand("P", branches.TRANSIT_CODE) == q(moved)
    (p_stock,) = availability(shop.session, sku="P")
    assert p_stock.available == q(60 - moved + 5) and p_stock.expected == q(moved)
    for transfer in made:
        branches.arrive(shop.session, transfer.id, actor="branch")
    shop.session.commit()
    assert shop.on_hand("P", "EAST") == q(5 + transfers["EAST"])
    assert shop.on_hand("P", "WEST") == q(transfers["WEST"])
    assert shop.on_hand("P", branches.TRANSIT_CODE) == q(0)
    legs = shop.session.execute(sa.select(LedgerEntry.reference, sa.func.count())
                                .where(LedgerEntry.kind == "transfer")
                                .group_by(LedgerEntry.reference)).all()
    assert sorted(count for _ref, count in legs) == [4, 4]  # out, in transit, out, in
    assert {t.status for t in shop.session.scalars(sa.select(Transfer))} == {"arrived"}
    assert shop.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)) == 0
    assert check_drift(shop.session) == []

"""Measured lead times change the next suggestion exactly as the documented formula says:
SS = z * sqrt(L * sigma_d^2 + d^2 * sigma_L^2), ROP = d * L + SS, order up to ROP + cycle.
The expected figures are computed here independently, in floats, from the raw history."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from decimal import Decimal

from erpkit.db import utcnow
from erpkit_inventory import replenishment, stock
from erpkit_purchasing import planning, purchase_orders, receiving
from erpkit_purchasing.models import PurchaseOrder

from .conftest import days_before, q

Z_95 = 1.644854  # the standard normal quantile of 0.95, from a table
CYCLE = 20


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def sample_sd(values: list[float]) -> float:
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def expected_quantity(demand: list[float], lead: float, lead_sd: float) -> float:
    d, sd = mean(demand), sample_sd(demand)
    rop = d * lead + Z_95 * math.sqrt(lead * sd ** 2 + d ** 2 * lead_sd ** 2)
    return float(math.ceil(rop + CYCLE))  # position 0, packs of 1


def deliver(shop, supplier, boss, days: int) -> None:
    """One purchase of X that took ``days`` from sending to receipt; the goods are then
    booked out again (an adjustment, not demand) so the position stays 0."""
    order = purchase_orders.create_order(shop.session, supplier="S1", warehouse="MAIN",
                                         lines=[{"sku": "X", "quantity": q(5)}], actor="buyer")
    purchase_orders.approve(shop.session, order, actor=boss)
    purchase_orders.send(shop.session, order, actor="buyer")
    received_at = utcnow()
    order.sent_at = received_at - timedelta(days=days)
    shop.session.commit()
    receiving.receive_line(shop.session, order.id, order.lines[0].id, q(5), actor="receiver",
                           at=received_at)
    stock.adjust(shop.session, order.lines[0].product, order.warehouse, q(-5), actor="test",
                 reason="sold off the books")
    shop.session.commit()
    assert shop.session.get(PurchaseOrder, order.id).status == "received"


def test_measured_lead_times_change_the_next_suggestion_as_the_formula_says(shop, users):
    boss = users.create("boss", "admin")
    main = shop.warehouse("MAIN")
    product = shop.product("X")
    replenishment.set_rule(shop.session, product.id, main.id, reorder_point=q(0),
                           order_up_to=q(CYCLE), lead_time_days=3)
    shop.session.commit()
    supplier = shop.supplier("S1")
    shop.offer(supplier, "X", price=Decimal("1.00"), pack_size=q(1), lead_time_days=10)
    today = utcnow().date()
    rng = random.Random(21)
    demand = [float(rng.randint(0, 9)) for _ in range(28)]
    for day, amount in zip(days_before(today, 28), demand, strict=True):
        if amount:
            shop.ship("X", "MAIN", amount, day)

    (quoted,) = planning.purchase_suggestions(shop.session)
    assert not quoted.lead_time.measured and quoted.lead_time.mean == 10
    assert float(quoted.quantity) == expected_quantity(demand, 10, 0)
    shop.session.commit()

    for days in (8, 12, 13):
        deliver(shop, supplier, boss, days)

    (learned,) = planning.purchase_suggestions(shop.session)
    lead, lead_sd = mean([8, 12, 13]), sample_sd([8, 12, 13])
    assert learned.lead_time.measured and learned.lead_time.samples == 3
    assert abs(float(learned.lead_time.mean) - lead) < 1e-9
    assert abs(float(learned.lead_time.spread) - lead_sd) < 1e-9
    d, sd = mean(demand), sample_sd(demand)
    assert abs(float(learned.reorder_point)
               - (d * lead + Z_95 * math.sqrt(lead * sd ** 2 + d ** 2 * lead_sd ** 2))) < 1e-4
    assert float(learned.quantity) == expected_quantity(demand, lead, lead_sd)
    assert learned.quantity > quoted.quantity  # a later, less reliable supplier: buy more
    assert "measured 11.00 days on average" in learned.explanation


def test_the_service_level_an_admin_sets_sizes_the_safety_stock(shop):
    main = shop.warehouse("MAIN")
    product = shop.product("X")
    replenishment.set_rule(shop.session, product.id, main.id, reorder_point=q(0),
                           order_up_to=q(CYCLE), lead_time_days=3)
    shop.session.commit()
    shop.offer(shop.supplier("S1"), "X", price=Decimal("1.00"), lead_time_days=4)
    today = utcnow().date()
    demand = [float(v) for v in [0, 4, 1, 7, 3, 2, 9, 0, 5, 5] * 3][:28]
    for day, amount in zip(days_before(today, 28), demand, strict=True):
        if amount:
            shop.ship("X", "MAIN", amount, day)
    shop.set("purchasing.service_level", Decimal("0.99"))
    (suggestion,) = planning.purchase_suggestions(shop.session)
    z_99 = 2.326348
    assert abs(float(suggestion.safety_stock) - z_99 * sample_sd(demand) * 2) < 1e-4

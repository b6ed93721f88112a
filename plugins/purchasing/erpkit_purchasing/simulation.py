"""A replenishment policy replayed over past demand: what inventory it would have kept
and how much demand it would have served, before (today's policy) and after (a new one).

For each replenishment rule with a supplier (branches supplied by a route are the branch
plan's, and are left out), the days of the period are replayed one by one from the
stock actually on hand the evening before the period began, with nothing on order:

1. what was ordered ``L`` days ago arrives (``L`` the policy's lead time rounded up to
   whole days, at least 1);
2. the day's demand, as the ledger recorded it (``inventory.demand_basis``), is served
   from stock; what stock cannot serve is lost (counted, never served later), and the
   day is a stock-out day;
3. on a review day (the first day, then every ``R`` = ``review_period_days`` days), with
   ``d`` and ``sigma_d`` the mean and sample standard deviation of the demand of the
   ``demand_window_days`` days ending that day, ``P = L + R - 1`` the days an order has
   to cover (until the next order can arrive) and ``z`` the normal quantile of the
   service level:

       SS  = z * sqrt(P * sigma_d**2 + d**2 * sigma_L**2)
       ROP = d * P + SS

   when the position (on hand + on order) is at or below ``ROP``, order
   ``ROP + cycle stock - position``, raised to the supplier's minimum and rounded up to
   whole packs (:func:`erpkit_purchasing.planning.order_quantity`).

With ``R = 1`` this is the rule purchasing plans with every day
(:mod:`erpkit_purchasing.planning`). Today's policy: ``purchasing.service_level``,
``R = 1``, ``inventory.demand_window_days``, the lead time planned with now (measured or
quoted), and the rule's cycle stock (its order-up-to less its reorder point). A new
policy changes any of these; ``cycle_days`` replaces the cycle stock by that many days
of the day's mean demand.

Figures of a replay: the average end-of-day on hand and its value at the replacement
cost (:mod:`erpkit_purchasing.figures`), stock-out days, fill rate = served / demand,
the orders placed. ``actual`` is what the ledger shows for the same days.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.parameters import get_value
from erpkit_inventory.demand import on_hand_at_end_of_days
from erpkit_inventory.models import ReplenishmentRule
from erpkit_inventory.stock import ZERO, quantity
from erpkit_orders.models import Product
from erpkit_purchasing.figures import CENTS, stockouts
from erpkit_purchasing.leadtimes import lead_time
from erpkit_purchasing.models import SupplierProduct, SupplyRoute
from erpkit_purchasing.planning import open_warehouse_ids, order_quantity
from erpkit_purchasing.safety import daily_demand, service_factor
from erpkit_purchasing.suppliers import preferred_offers

#: What a new policy may change (:func:`with_changes`).
POLICY_CHANGES = ("service_level", "review_period_days", "demand_window_days",
                  "lead_time_days", "lead_time_spread", "cycle_days")


@dataclass(frozen=True)
class Policy:
    """How one product is replenished (see the module's docstring)."""

    service_level: Decimal
    review_period_days: int
    demand_window_days: int
    lead_time_days: Decimal
    lead_time_spread: Decimal
    #: Units ordered on top of the reorder point; ``cycle_days`` replaces it when set.
    cycle_stock: Decimal
    cycle_days: Decimal | None
    pack_size: Decimal
    min_order_quantity: Decimal

    @property
    def delivery_days(self) -> int:
        """The lead time in whole days: when an order placed in the evening arrives."""
        return max(1, int(self.lead_time_days.to_integral_value(rounding=ROUND_CEILING)))


@dataclass(frozen=True)
class Outcome:
    """What a policy would have done over the period."""

    policy: Policy
    average_on_hand: Decimal
    average_value: Decimal | None
    ending_on_hand: Decimal
    stockout_days: int
    demand: Decimal
    served: Decimal
    lost: Decimal
    fill_rate: Decimal | None
    orders: int
    ordered: Decimal


@dataclass(frozen=True)
class Actual:
    """What the ledger shows for the period."""

    average_on_hand: Decimal
    average_value: Decimal | None
    stockout_days: int


@dataclass(frozen=True)
class ProductSimulation:
    sku: str
    warehouse: str | None  # None: every warehouse (a rule for all of them)
    unit_cost: Decimal
    opening_on_hand: Decimal
    actual: Actual
    before: Outcome
    after: Outcome


@dataclass(frozen=True)
class Simulation:
    first: date
    last: date
    products: list[ProductSimulation]
    before_value: Decimal
    after_value: Decimal
    change_percent: Decimal | None


def current_policy(session: Session, rule: ReplenishmentRule, offer: SupplierProduct) -> Policy:
    """Today's policy of ``rule`` (see the module's docstring)."""
    lead = lead_time(session, offer)
    return Policy(
        service_level=Decimal(str(get_value(session, "purchasing.service_level"))),
        review_period_days=1,
        demand_window_days=int(get_value(session, "inventory.demand_window_days")),
        lead_time_days=Decimal(lead.mean), lead_time_spread=Decimal(lead.spread),
        cycle_stock=max(quantity(rule.order_up_to) - quantity(rule.reorder_point), ZERO),
        cycle_days=None, pack_size=quantity(offer.pack_size),
        min_order_quantity=quantity(offer.min_order_quantity))


def with_changes(policy: Policy, changes: dict[str, Any]) -> Policy:
    """``policy`` with the given :data:`POLICY_CHANGES` (``None`` values keep it)."""
    given = {name: changes[name] for name in POLICY_CHANGES if changes.get(name) is not None}
    return dataclasses.replace(policy, **given)


class _Window:
    """Mean and sample standard deviation of the last ``size`` days of ``history``, kept
    as running sums while the window slides forward."""

    def __init__(self, history: list[Decimal], size: int) -> None:
        self.history, self.size = history, size
        self.total = self.squares = ZERO
        self.end: int | None = None

    def figures(self, end: int) -> tuple[Decimal, Decimal]:
        """(mean, spread) of ``history[end - size + 1 : end + 1]``, ``end`` growing."""
        if self.end is None:
            values = self.history[end - self.size + 1:end + 1]
            self.total = sum(values, ZERO)
            self.squares = sum((value * value for value in values), ZERO)
        else:
            for index in range(self.end + 1, end + 1):
                new, old = self.history[index], self.history[index - self.size]
                self.total += new - old
                self.squares += new * new - old * old
        self.end = end
        mean = self.total / self.size
        variance = (self.squares - self.total * mean) / (self.size - 1)
        return mean, variance.sqrt() if variance > 0 else ZERO


def replay(history: list[Decimal], days: int, opening: Decimal, policy: Policy,
           unit_cost: Decimal | None) -> Outcome:
    """Replay the last ``days`` of ``history`` (daily demand, oldest first, with at
    least ``demand_window_days - 1`` days before them) under ``policy``."""
    start = len(history) - days
    window = _Window(history, policy.demand_window_days)
    z = service_factor(policy.service_level)
    period = Decimal(policy.delivery_days + policy.review_period_days - 1)
    arrivals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    on_hand, on_order = opening, ZERO
    held = served = ZERO
    out_days = orders = 0
    ordered = ZERO
    for day in range(days):
        arrived = arrivals.pop(day, ZERO)
        on_hand, on_order = on_hand + arrived, on_order - arrived
        demand = history[start + day]
        sold = min(max(on_hand, ZERO), demand)
        on_hand -= sold
        served += sold
        out_days += sold < demand
        held += on_hand
        if day % policy.review_period_days:
            continue
        mean, spread = window.figures(start + day)
        variance = period * spread ** 2 + mean ** 2 * policy.lead_time_spread ** 2
        point = mean * period + (z * variance.sqrt() if variance > 0 else ZERO)
        cycle = (mean * policy.cycle_days if policy.cycle_days is not None
                 else policy.cycle_stock)
        position = on_hand + on_order
        if position <= point:
            amount = order_quantity(point + cycle - position, policy.pack_size,
                                    policy.min_order_quantity)
            arrivals[day + policy.delivery_days] += amount
            on_order += amount
            orders, ordered = orders + 1, ordered + amount
    demanded = sum(history[start:], ZERO)
    average = quantity(held / days)
    return Outcome(
        policy=policy, average_on_hand=average,
        average_value=None if unit_cost is None else (average * unit_cost).quantize(CENTS),
        ending_on_hand=quantity(on_hand), stockout_days=out_days, demand=quantity(demanded),
        served=quantity(served), lost=quantity(demanded - served),
        fill_rate=(served / demanded).quantize(Decimal("0.0001")) if demanded > 0 else None,
        orders=orders, ordered=quantity(ordered))


def _actual(session: Session, rule: ReplenishmentRule, first: date, last: date,
            unit_cost: Decimal) -> Actual:
    balances = on_hand_at_end_of_days(session, rule.product_id, rule.warehouse_id, first, last)
    average = quantity(sum(balances, ZERO) / len(balances))
    return Actual(average_on_hand=average, average_value=(average * unit_cost).quantize(CENTS),
                  stockout_days=stockouts(balances)[0])


def simulate_rule(session: Session, rule: ReplenishmentRule, offer: SupplierProduct,
                  first: date, last: date, changes: dict[str, Any]) -> ProductSimulation:
    """Today's policy and the changed one, replayed over ``first``..``last``."""
    before = current_policy(session, rule, offer)
    after = with_changes(before, changes)
    days = (last - first).days + 1
    warm_up = max(before.demand_window_days, after.demand_window_days) - 1
    scope = None if rule.warehouse_id is None else [rule.warehouse_id]
    history = daily_demand(session, rule.product_id, scope, last, days + warm_up)
    opening = on_hand_at_end_of_days(session, rule.product_id, rule.warehouse_id,
                                     first - timedelta(days=1), first - timedelta(days=1))[0]
    cost = Decimal(offer.price)
    return ProductSimulation(
        sku=rule.product.sku, warehouse=rule.warehouse.code if rule.warehouse else None,
        unit_cost=cost, opening_on_hand=opening,
        actual=_actual(session, rule, first, last, cost),
        before=replay(history, days, opening, before, cost),
        after=replay(history, days, opening, after, cost))


def rules_to_simulate(session: Session, *, sku: str | None, warehouse_id: int | None,
                      limit: int) -> list[ReplenishmentRule]:
    """The rules purchasing plans (not branches'), in SKU order, at most ``limit``."""
    query = (sa.select(ReplenishmentRule).join(Product, Product.id == ReplenishmentRule.product_id)
             .where(sa.or_(ReplenishmentRule.warehouse_id.is_(None),
                           ReplenishmentRule.warehouse_id.in_(open_warehouse_ids(session))),
                    sa.or_(ReplenishmentRule.warehouse_id.is_(None),
                           ReplenishmentRule.warehouse_id.not_in(
                               sa.select(SupplyRoute.warehouse_id))))
             .order_by(Product.sku, ReplenishmentRule.id).limit(limit))
    if sku is not None:
        query = query.where(Product.sku == sku)
    if warehouse_id is not None:
        query = query.where(ReplenishmentRule.warehouse_id == warehouse_id)
    return list(session.scalars(query).unique())


def simulate(session: Session, first: date, last: date, changes: dict[str, Any], *,
             sku: str | None = None, warehouse_id: int | None = None,
             limit: int = 20) -> Simulation:
    """Replay today's policy and the policy with ``changes`` (:data:`POLICY_CHANGES`)
    over ``first``..``last`` for each rule with a supplier. The caller bounds the
    period (``core.max_report_days``) and ``limit``."""
    rules = rules_to_simulate(session, sku=sku, warehouse_id=warehouse_id, limit=limit)
    offers = preferred_offers(session, [rule.product_id for rule in rules])
    rows = [simulate_rule(session, rule, offers[rule.product_id], first, last, changes)
            for rule in rules if rule.product_id in offers]
    before = sum((row.before.average_value or ZERO for row in rows), Decimal("0.00"))
    after = sum((row.after.average_value or ZERO for row in rows), Decimal("0.00"))
    change = ((after - before) * 100 / before).quantize(Decimal("0.1")) if before > 0 else None
    return Simulation(first=first, last=last, products=rows, before_value=before,
                      after_value=after, change_percent=change)

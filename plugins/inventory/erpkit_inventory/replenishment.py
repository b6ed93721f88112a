"""Replenishment: what to reorder, how much and when, each suggestion explained in words.

For each rule (a product in one warehouse, or a product over all open warehouses):

* **position** = on hand - reserved (- open backorders, for a product rule: backorders
  belong to no warehouse);
* **daily demand** = the moving average of the last ``inventory.demand_window_days`` days
  (today included) of shipped or reserved quantities (``inventory.demand_basis``). With
  ``inventory.seasonality = last_year`` it is scaled by how demand a year ago in the
  coming lead time compared with the same window a year ago;
* position **below the reorder point**: order today, enough to reach the order-up-to
  level;
* otherwise, when demand will take it below the reorder point within
  ``inventory.replenish_horizon_days``: order on that day, enough to reach the order-up-to
  level from the position expected then;
* quantities are rounded up to whole packs (the product's pack size); the goods arrive
  the supplier's lead time after the order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.parameters import get_value
from erpkit_inventory.demand import demand_between
from erpkit_inventory.models import Backorder, ReplenishmentRule, StockLevel, Warehouse
from erpkit_inventory.stock import ZERO, quantity, show

YEAR = timedelta(days=365)


@dataclass(frozen=True)
class Suggestion:
    """Reorder ``quantity`` of ``sku`` (for ``warehouse``, or ``None``: any) on ``order_on``."""

    sku: str
    warehouse: str | None
    on_hand: Decimal
    reserved: Decimal
    backordered: Decimal
    position: Decimal
    reorder_point: Decimal
    order_up_to: Decimal
    lead_time_days: int
    daily_demand: Decimal
    order_on: date
    arrives_on: date
    quantity: Decimal
    explanation: str


@dataclass(frozen=True)
class DemandEstimate:
    daily: Decimal
    words: str


def _stock(session: Session, rule: ReplenishmentRule) -> tuple[Decimal, Decimal, Decimal]:
    query = (sa.select(sa.func.coalesce(sa.func.sum(StockLevel.on_hand), 0),
                       sa.func.coalesce(sa.func.sum(StockLevel.reserved), 0))
             .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
             .where(Warehouse.active.is_(True), StockLevel.product_id == rule.product_id))
    backordered = ZERO
    if rule.warehouse_id is not None:
        query = query.where(StockLevel.warehouse_id == rule.warehouse_id)
    else:
        backordered = quantity(session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Backorder.quantity), 0))
            .where(Backorder.product_id == rule.product_id)) or 0)
    on_hand, reserved = session.execute(query).one()
    return quantity(on_hand), quantity(reserved), backordered


def estimate_demand(session: Session, rule: ReplenishmentRule, today: date) -> DemandEstimate:
    """The daily demand to plan with, and how it was found, in words."""
    window = int(get_value(session, "inventory.demand_window_days"))
    basis = str(get_value(session, "inventory.demand_basis"))
    first = today - timedelta(days=window - 1)
    recent = demand_between(session, rule.product_id, rule.warehouse_id, first, today, basis)
    daily = recent / window
    what = "shipments" if basis == "shipped" else "reservations"
    words = (f"demand averages {_rate(daily)} a day ({show(recent)} in {what} over the last "
             f"{window} days)")
    if get_value(session, "inventory.seasonality") != "last_year":
        return DemandEstimate(daily, words)
    ahead_days = max(rule.lead_time_days, 1)
    base = demand_between(session, rule.product_id, rule.warehouse_id, first - YEAR,
                          today - YEAR, basis)
    ahead = demand_between(session, rule.product_id, rule.warehouse_id,
                           today - YEAR + timedelta(days=1),
                           today - YEAR + timedelta(days=ahead_days), basis)
    if base == 0:
        return DemandEstimate(daily, words + "; not scaled for the season: there was no "
                              "demand in the same days last year")
    factor = (ahead / ahead_days) / (base / window)
    return DemandEstimate(
        daily * factor,
        words + f"; scaled by {factor:.2f} for the season: last year the {ahead_days} days "
        f"ahead saw {_rate(ahead / ahead_days)} a day against {_rate(base / window)} in the "
        f"same {window} days, so plan with {_rate(daily * factor)} a day")


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _rate(value: Decimal) -> str:
    return f"{value:.2f}"


def _whole_packs(amount: Decimal, pack: Decimal) -> Decimal:
    pack = pack if pack and pack > 0 else Decimal(1)
    packs = (amount / pack).to_integral_value(rounding=ROUND_CEILING)
    return quantity(max(packs, Decimal(1)) * pack)


def suggest_for(session: Session, rule: ReplenishmentRule, today: date,
                horizon_days: int) -> Suggestion | None:
    """The suggestion for one rule, or ``None`` when nothing needs ordering within the
    horizon."""
    on_hand, reserved, backordered = _stock(session, rule)
    position = on_hand - reserved - backordered
    demand = estimate_demand(session, rule, today)
    point, up_to = quantity(rule.reorder_point), quantity(rule.order_up_to)
    where = rule.product.sku + (f" in {rule.warehouse.code}" if rule.warehouse else
                                " (all warehouses)")
    stock_words = (f"available {show(on_hand - reserved)} (on hand {show(on_hand)}, reserved "
                   f"{show(reserved)})" + (f" less {show(backordered)} backordered"
                                           if backordered else ""))
    if position < point:
        days_ahead, expected = 0, position
        why = f"{where}: {stock_words} is below the reorder point {show(point)}"
    elif demand.daily > 0:
        days_ahead = math.floor((position - point) / demand.daily)
        if days_ahead > horizon_days:
            return None
        expected = position - demand.daily * days_ahead
        why = (f"{where}: {stock_words} will fall below the reorder point {show(point)} "
               f"in about {_days(days_ahead)} at the current demand")
    else:
        return None
    order_on = today + timedelta(days=days_ahead)
    arrives_on = order_on + timedelta(days=rule.lead_time_days)
    amount = _whole_packs(up_to - expected, rule.product.pack_size)
    during_lead = demand.daily * rule.lead_time_days
    words = [
        why + ".",
        f"Order {show(amount)} {'today' if days_ahead == 0 else 'on ' + order_on.isoformat()}"
        f" to bring it up to {show(up_to)}; the supplier's {rule.lead_time_days}-day lead time "
        f"puts delivery on {arrives_on.isoformat()}.",
        f"Meanwhile {demand.words}" + (
            f", about {show(quantity(during_lead))} over the lead time." if during_lead
            else "."),
    ]
    if demand.daily > 0 and during_lead > expected:
        lasts = math.floor(max(expected, ZERO) / demand.daily)
        words.append(f"At that rate it runs out about {_days(rule.lead_time_days - lasts)} "
                     "before the delivery.")
    return Suggestion(
        sku=rule.product.sku, warehouse=rule.warehouse.code if rule.warehouse else None,
        on_hand=on_hand, reserved=reserved, backordered=backordered,
        position=quantity(position), reorder_point=point, order_up_to=up_to,
        lead_time_days=rule.lead_time_days, daily_demand=demand.daily, order_on=order_on,
        arrives_on=arrives_on, quantity=amount, explanation=" ".join(words))


def suggestions(session: Session, today: date | None = None) -> list[Suggestion]:
    """Every reorder due within ``inventory.replenish_horizon_days``, soonest first."""
    return suggestions_of_rules(session, list(rules_page(session)), today)


def rules_page(session: Session, *, limit: int | None = None,
               after: int | None = None) -> list[ReplenishmentRule]:
    """Replenishment rules in id order: at most ``limit``, those after the id ``after``."""
    query = sa.select(ReplenishmentRule).order_by(ReplenishmentRule.id).limit(limit)
    if after is not None:
        query = query.where(ReplenishmentRule.id > after)
    return list(session.scalars(query).unique())


def suggestions_of_rules(session: Session, rules: list[ReplenishmentRule],
                         today: date | None = None) -> list[Suggestion]:
    """The reorders ``rules`` call for within the horizon, soonest first."""
    today = today or utcnow().date()
    horizon = int(get_value(session, "inventory.replenish_horizon_days"))
    found = []
    for rule in rules:
        if rule.warehouse is not None and not rule.warehouse.active:
            continue
        suggestion = suggest_for(session, rule, today, horizon)
        if suggestion is not None:
            found.append(suggestion)
    return sorted(found, key=lambda s: (s.order_on, s.sku, s.warehouse or ""))


def set_rule(session: Session, product_id: int, warehouse_id: int | None, *,
             reorder_point: Decimal, order_up_to: Decimal,
             lead_time_days: int) -> ReplenishmentRule:
    """Create or change the rule of a product (in a warehouse, or overall)."""
    from erpkit import ValidationFailed

    if order_up_to < reorder_point:
        raise ValidationFailed.single("order_up_to", "the order-up-to level must be at least "
                                      "the reorder point", code="below_reorder_point")
    where = (ReplenishmentRule.warehouse_id == warehouse_id if warehouse_id is not None
             else ReplenishmentRule.warehouse_id.is_(None))
    rule = session.scalar(sa.select(ReplenishmentRule).where(
        ReplenishmentRule.product_id == product_id, where))
    if rule is None:
        rule = ReplenishmentRule(product_id=product_id, warehouse_id=warehouse_id)
        session.add(rule)
    rule.reorder_point = quantity(reorder_point)
    rule.order_up_to = quantity(order_up_to)
    rule.lead_time_days = lead_time_days
    session.flush()
    return rule

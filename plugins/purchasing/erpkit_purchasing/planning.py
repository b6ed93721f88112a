"""What to buy: the inventory module's replenishment rules, planned with the lead time
the supplier really takes and a safety stock for the service level an admin sets.

For each replenishment rule (branches supplied by another warehouse are left to the
branch plan, :mod:`erpkit_purchasing.branches`) with an offer from a supplier:

* position = on hand - reserved - backordered + still on order from suppliers + in transit;
* reorder point ``ROP = d * L + SS`` (:mod:`erpkit_purchasing.safety`);
* order-up-to ``S = ROP + (order_up_to - reorder_point)`` of the rule: the rule's cycle
  stock on top of the computed reorder point;
* when position <= ROP, order ``S - position``, raised to the supplier's minimum order
  quantity and rounded up to whole packs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.parameters import get_value
from erpkit.schemas import one_page
from erpkit_inventory.models import Backorder, ReplenishmentRule, StockLevel, Warehouse
from erpkit_inventory.stock import ZERO, quantity, show
from erpkit_orders.models import Product
from erpkit_purchasing.leadtimes import LeadTime, lead_time
from erpkit_purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    SupplierProduct,
    SupplyRoute,
    Transfer,
)
from erpkit_purchasing.safety import (
    daily_demand,
    demand_figures,
    reorder_point,
    safety_stock,
    service_factor,
)
from erpkit_purchasing.suppliers import preferred_offers

#: Purchase order statuses whose outstanding quantities are still expected.
OPEN_STATUSES = ("draft", "approved", "sent", "partially_received")
#: Of those, the ones a supplier has agreed to deliver (availability counts only these).
COMMITTED_STATUSES = ("approved", "sent", "partially_received")


@dataclass(frozen=True)
class PurchaseSuggestion:
    """Buy ``quantity`` of ``sku`` from ``supplier`` into ``warehouse``, and why."""

    sku: str
    product_id: int
    warehouse: str
    warehouse_id: int
    supplier: str
    supplier_id: int
    unit_price: Decimal
    position: Decimal
    on_order: Decimal
    daily_demand: Decimal
    demand_spread: Decimal
    lead_time: LeadTime
    service_factor: Decimal
    safety_stock: Decimal
    reorder_point: Decimal
    order_up_to: Decimal
    needed: Decimal
    quantity: Decimal
    explanation: str


def order_quantity(needed: Decimal, pack_size: Decimal, minimum: Decimal) -> Decimal:
    """``needed`` raised to ``minimum`` and rounded up to whole packs of ``pack_size``."""
    pack = pack_size if pack_size > 0 else Decimal(1)
    wanted = max(needed, minimum)
    packs = (wanted / pack).to_integral_value(rounding=ROUND_CEILING)
    return quantity(max(packs, Decimal(1)) * pack)


def on_order(session: Session, product_id: int, warehouse_ids: list[int] | None,
             statuses: tuple[str, ...] = OPEN_STATUSES) -> Decimal:
    """Ordered from suppliers and not received yet, drafts included by default."""
    query = (sa.select(sa.func.coalesce(sa.func.sum(PurchaseOrderLine.quantity
                                                    - PurchaseOrderLine.received), 0))
             .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
             .where(PurchaseOrderLine.product_id == product_id,
                    PurchaseOrder.status.in_(statuses)))
    if warehouse_ids is not None:
        query = query.where(PurchaseOrder.warehouse_id.in_(warehouse_ids))
    return quantity(session.scalar(query) or 0)


def in_transit(session: Session, product_id: int, warehouse_ids: list[int] | None) -> Decimal:
    query = sa.select(sa.func.coalesce(sa.func.sum(Transfer.quantity), 0)).where(
        Transfer.product_id == product_id, Transfer.status == "in_transit")
    if warehouse_ids is not None:
        query = query.where(Transfer.warehouse_id.in_(warehouse_ids))
    return quantity(session.scalar(query) or 0)


def available_in(session: Session, product_id: int, warehouse_ids: list[int]) -> Decimal:
    total = session.scalar(sa.select(sa.func.coalesce(
        sa.func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
        .where(StockLevel.product_id == product_id, StockLevel.warehouse_id.in_(warehouse_ids)))
    return quantity(total or 0)


def open_warehouse_ids(session: Session) -> list[int]:
    return list(session.scalars(sa.select(Warehouse.id).where(Warehouse.active.is_(True))
                                .order_by(Warehouse.id)))


def receiving_warehouse(session: Session) -> Warehouse:
    """Where purchases for an all-warehouses rule arrive: ``purchasing.receiving_warehouse``,
    else the first open warehouse that no other warehouse supplies."""
    from erpkit import ValidationFailed

    code = str(get_value(session, "purchasing.receiving_warehouse") or "")
    query = sa.select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.id)
    if code:
        query = query.where(Warehouse.code == code)
    else:
        query = query.where(Warehouse.id.not_in(sa.select(SupplyRoute.warehouse_id)))
    found = session.scalars(query).first()
    if found is None:
        raise ValidationFailed.single("warehouse", "no open warehouse to receive purchases "
                                      "into", code="no_warehouse")
    return found


def suggest_for(session: Session, rule: ReplenishmentRule, offer: SupplierProduct,
                today: date) -> PurchaseSuggestion | None:
    """The purchase for one rule, or ``None`` while the position is above the reorder
    point (see the module's docstring)."""
    window = int(get_value(session, "inventory.demand_window_days"))
    z = service_factor(Decimal(str(get_value(session, "purchasing.service_level"))))
    if rule.warehouse_id is not None:
        scope = [rule.warehouse_id]
        target, backordered = rule.warehouse, ZERO
    else:
        scope = open_warehouse_ids(session)
        target = receiving_warehouse(session)
        backordered = quantity(session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Backorder.quantity), 0))
            .where(Backorder.product_id == rule.product_id)) or 0)
    assert target is not None
    demand = demand_figures(daily_demand(session, rule.product_id,
                                         None if rule.warehouse_id is None else scope,
                                         today, window))
    lead = lead_time(session, offer)
    coming = (on_order(session, rule.product_id, None if rule.warehouse_id is None else scope)
              + in_transit(session, rule.product_id, scope))
    position = available_in(session, rule.product_id, scope) - backordered + coming
    safety = safety_stock(z, demand.mean, demand.spread, lead.mean, lead.spread)
    point = reorder_point(z, demand.mean, demand.spread, lead.mean, lead.spread)
    up_to = point + max(quantity(rule.order_up_to) - quantity(rule.reorder_point), ZERO)
    if position > point:
        return None
    needed = up_to - position
    amount = order_quantity(needed, quantity(offer.pack_size),
                            quantity(offer.min_order_quantity))
    explanation = (
        f"{rule.product.sku} in {target.code}: position {show(position)} (incl. "
        f"{show(coming)} on order or in transit) is at or below the reorder point "
        f"{point:.2f} = demand {demand.mean:.2f}/day x lead time {lead.mean:.2f} days + "
        f"safety stock {safety:.2f} (z {z}, demand spread {demand.spread:.2f}, lead-time "
        f"spread {lead.spread:.2f}; lead time {lead}). Order up to {up_to:.2f}: "
        f"{needed:.2f} needed, {show(amount)} in packs of {show(quantity(offer.pack_size))}"
        f" (minimum {show(quantity(offer.min_order_quantity))}) from {offer.supplier.code}.")
    return PurchaseSuggestion(
        sku=rule.product.sku, product_id=rule.product_id, warehouse=target.code,
        warehouse_id=target.id, supplier=offer.supplier.code, supplier_id=offer.supplier_id,
        unit_price=Decimal(offer.price), position=quantity(position), on_order=coming,
        daily_demand=demand.mean, demand_spread=demand.spread, lead_time=lead,
        service_factor=z, safety_stock=safety, reorder_point=point, order_up_to=up_to,
        needed=needed, quantity=amount, explanation=explanation)


def purchase_suggestions(session: Session, today: date | None = None) -> list[PurchaseSuggestion]:
    """Every purchase due now, by supplier then product (what drafts are made from; a
    listing reads :func:`suggestions_page`)."""
    rules = list(session.scalars(sa.select(ReplenishmentRule).where(_planned())
                                 .order_by(ReplenishmentRule.id)).unique())
    found = _suggestions(session, rules, today or utcnow().date())
    return sorted(found, key=lambda s: (s.supplier, s.warehouse, s.sku))


def suggestions_page(session: Session, *, limit: int, after: str | None = None,
                     today: date | None = None) -> tuple[list[PurchaseSuggestion], str | None]:
    """The purchases due now of a page of products: the first ``limit`` products by SKU
    (after the SKU ``after``) that have a rule planned here, by SKU then warehouse, and
    the SKU to pass as ``after`` for the next page (``None`` on the last).

    The work of a page is that of its products' rules (at most one per warehouse and one
    for all), however many products there are; a page may hold fewer suggestions than
    products, or none, when their stock is above the reorder point.
    """
    query = (sa.select(Product).order_by(Product.sku).limit(limit + 1)
             .where(sa.exists().where(ReplenishmentRule.product_id == Product.id, _planned())))
    if after is not None:
        query = query.where(Product.sku > after)
    page = one_page(list(session.scalars(query)), limit, lambda product: product.sku)
    rules = list(session.scalars(sa.select(ReplenishmentRule).where(
        ReplenishmentRule.product_id.in_([product.id for product in page["items"]]),
        _planned()).order_by(ReplenishmentRule.id)).unique())
    found = _suggestions(session, rules, today or utcnow().date())
    return sorted(found, key=lambda s: (s.sku, s.warehouse)), page["next"]


def _planned() -> Any:
    """Rules planned here: of an open warehouse or of all; a branch's (a warehouse that
    another supplies) is left to the branch plan."""
    return sa.or_(ReplenishmentRule.warehouse_id.is_(None),
                  sa.and_(ReplenishmentRule.warehouse_id.not_in(sa.select(SupplyRoute.warehouse_id)),
                          ReplenishmentRule.warehouse_id.in_(
                              sa.select(Warehouse.id).where(Warehouse.active.is_(True)))))


def _suggestions(session: Session, rules: list[ReplenishmentRule],
                 today: date) -> list[PurchaseSuggestion]:
    offers = preferred_offers(session, [rule.product_id for rule in rules])
    found = []
    for rule in rules:
        if rule.product_id in offers:
            suggestion = suggest_for(session, rule, offers[rule.product_id], today)
            if suggestion is not None:
                found.append(suggestion)
    return found

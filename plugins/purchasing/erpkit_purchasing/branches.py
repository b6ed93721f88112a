"""A central warehouse and its branches: transfers by the branches' demand, purchases for
the sum of what the network needs, and transfers through the ledger.

For a central warehouse ``c``, its branches ``b`` (``purchasing_supply_route``) and a
product, with ``d``/``sigma`` the mean and sample standard deviation of daily demand over
``inventory.demand_window_days`` (:mod:`erpkit_purchasing.safety`), ``T`` the route's
transfer days, ``C`` = ``purchasing.branch_cover_days`` and ``z`` the service factor:

* branch target ``target_b = d_b * (T + C) + z * sigma_b * sqrt(T)``;
* branch position ``position_b`` = available in ``b`` + in transit to ``b``;
* branch need ``need_b = ceil(target_b - position_b)`` when positive, else 0;
* transfers: ``need_b`` each when the central warehouse's available stock ``A`` covers
  their sum, else ``floor(A * need_b / sum(need))`` (shared by need, whole units);
* the purchase at ``c``, for the network: demand ``D = d_c + sum(d_b)``, spread
  ``sigma_D = sqrt(sigma_c**2 + sum(sigma_b**2))``, the preferred supplier's lead time
  ``L``/``sigma_L``; ``target = D * (L + C) + z * sqrt(L * sigma_D**2 + D**2 * sigma_L**2)``;
  network position = ``A`` + on order at ``c`` + ``sum(position_b)``; buy
  ``target - position`` when positive, raised to the minimum order and whole packs.

Transfers move twice through the ledger: dispatch moves the stock from ``c`` into the
closed warehouse ``TRANSIT`` (so it serves no order on the way), arrival from ``TRANSIT``
into ``b``; both legs carry the transfer's reference.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from erpkit import ValidationFailed
from erpkit.db import utcnow
from erpkit.parameters import get_value
from erpkit_inventory import stock
from erpkit_inventory.models import StockLevel, Warehouse
from erpkit_inventory.stock import ZERO, quantity
from erpkit_orders.models import Product
from erpkit_purchasing.leadtimes import lead_time
from erpkit_purchasing.models import SupplyRoute, Transfer
from erpkit_purchasing.planning import (
    PurchaseSuggestion,
    available_in,
    in_transit,
    on_order,
    order_quantity,
)
from erpkit_purchasing.safety import daily_demand, demand_figures, service_factor
from erpkit_purchasing.suppliers import preferred_offers

TRANSIT_CODE = "TRANSIT"


def set_route(session: Session, branch: Warehouse, source: Warehouse, *,
              transfer_days: int = 2) -> SupplyRoute:
    """``branch`` is supplied by ``source`` from now on. Flushes, no commit."""
    if branch.id == source.id:
        raise ValidationFailed.single("source", "a warehouse cannot supply itself",
                                      code="same_warehouse")
    if session.scalar(sa.select(SupplyRoute.id).where(SupplyRoute.warehouse_id == source.id)):
        raise ValidationFailed.single("source", f"{source.code} is itself supplied by another "
                                      "warehouse: chains are not planned", code="chained")
    route = session.scalar(sa.select(SupplyRoute).where(SupplyRoute.warehouse_id == branch.id))
    if route is None:
        route = SupplyRoute(warehouse_id=branch.id)
        session.add(route)
    route.source_id, route.transfer_days = source.id, transfer_days
    session.flush()
    return route


@dataclass(frozen=True)
class ProposedTransfer:
    sku: str
    product_id: int
    source: str
    warehouse: str
    warehouse_id: int
    demand: Decimal
    target: Decimal
    position: Decimal
    need: Decimal
    quantity: Decimal


@dataclass
class BranchPlan:
    central: str
    transfers: list[ProposedTransfer] = field(default_factory=list)
    purchases: list[PurchaseSuggestion] = field(default_factory=list)


def _whole(value: Decimal, rounding: str) -> Decimal:
    return quantity(value.to_integral_value(rounding=rounding))


def plan_for(session: Session, central: Warehouse, today: date | None = None) -> BranchPlan:
    """The transfers and purchases of one central warehouse (see the module's docstring)."""
    today = today or utcnow().date()
    window = int(get_value(session, "inventory.demand_window_days"))
    cover = Decimal(int(get_value(session, "purchasing.branch_cover_days")))
    z = service_factor(Decimal(str(get_value(session, "purchasing.service_level"))))
    routes = list(session.scalars(sa.select(SupplyRoute).where(
        SupplyRoute.source_id == central.id).order_by(SupplyRoute.warehouse_id)).unique())
    plan = BranchPlan(central.code)
    if not routes:
        return plan
    scope = [central.id, *(route.warehouse_id for route in routes)]
    product_ids = sorted(set(session.scalars(sa.select(StockLevel.product_id).where(
        StockLevel.warehouse_id.in_(scope)))))
    offers = preferred_offers(session, product_ids)
    for product_id in product_ids:
        product = session.get(Product, product_id)
        assert product is not None
        central_demand = demand_figures(daily_demand(session, product_id, [central.id], today,
                                                     window))
        network_demand, network_variance = central_demand.mean, central_demand.spread ** 2
        proposals, positions = [], ZERO
        for route in routes:
            demand = demand_figures(daily_demand(session, product_id, [route.warehouse_id],
                                                 today, window))
            network_demand += demand.mean
            network_variance += demand.spread ** 2
            days = Decimal(route.transfer_days)
            target = demand.mean * (days + cover) + z * demand.spread * days.sqrt()
            position = (available_in(session, product_id, [route.warehouse_id])
                        + in_transit(session, product_id, [route.warehouse_id]))
            positions += position
            need = max(_whole(target - position, ROUND_CEILING), ZERO)
            proposals.append(ProposedTransfer(product.sku, product_id, central.code,
                                              route.warehouse.code, route.warehouse_id,
                                              demand.mean, target, position, need, need))
        available = available_in(session, product_id, [central.id])
        total_need = sum((p.need for p in proposals), ZERO)
        if total_need > available:
            proposals = [ProposedTransfer(**{**p.__dict__, "quantity": _whole(
                max(available, ZERO) * p.need / total_need, ROUND_FLOOR)}) for p in proposals]
        plan.transfers += [p for p in proposals if p.quantity > 0]
        offer = offers.get(product_id)
        if offer is None:
            continue
        lead = lead_time(session, offer)
        variance = lead.mean * network_variance + network_demand ** 2 * lead.spread ** 2
        target = (network_demand * (lead.mean + cover)
                  + (z * variance.sqrt() if variance > 0 else ZERO))
        coming = on_order(session, product_id, [central.id])
        position = available + coming + positions
        if position >= target:
            continue
        amount = order_quantity(target - position, quantity(offer.pack_size),
                                quantity(offer.min_order_quantity))
        plan.purchases.append(PurchaseSuggestion(
            sku=product.sku, product_id=product_id, warehouse=central.code,
            warehouse_id=central.id, supplier=offer.supplier.code,
            supplier_id=offer.supplier_id, unit_price=Decimal(offer.price),
            position=quantity(position), on_order=coming, daily_demand=network_demand,
            demand_spread=network_variance.sqrt(), lead_time=lead, service_factor=z,
            safety_stock=target - network_demand * (lead.mean + cover),
            reorder_point=target, order_up_to=target, needed=target - position,
            quantity=amount, explanation=(
                f"{product.sku} for {central.code} and its {len(routes)} branches: network "
                f"demand {network_demand:.2f}/day over lead time {lead.mean:.2f} + cover "
                f"{cover} days with safety stock gives {target:.2f}; position "
                f"{position:.2f}; buy {amount} from {offer.supplier.code}.")))
    return plan


def transit_warehouse(session: Session) -> Warehouse:
    """The closed warehouse that holds stock between dispatch and arrival."""
    found = session.scalar(sa.select(Warehouse).where(Warehouse.code == TRANSIT_CODE))
    if found is None:
        found = Warehouse(code=TRANSIT_CODE, name="In transit between warehouses", active=False)
        session.add(found)
        session.flush()
    return found


def dispatch(session: Session, product: Product, source: Warehouse, branch: Warehouse,
             amount: Decimal, *, actor: str | None, days: int | None = None) -> Transfer:
    """Send stock from ``source`` to ``branch``: it leaves ``source`` into transit now."""
    transit = transit_warehouse(session)
    if days is None:
        route = session.scalar(sa.select(SupplyRoute).where(
            SupplyRoute.warehouse_id == branch.id))
        days = route.transfer_days if route is not None else 2
    reference = f"branch-transfer-{uuid.uuid4().hex[:12]}"
    made = Transfer(product_id=product.id, source_id=source.id, warehouse_id=branch.id,
                    quantity=quantity(amount), reference=reference, actor=actor,
                    expected_on=utcnow().date() + timedelta(days=days))
    out, into = stock.transfer(session, product, source, transit, amount, actor=actor,
                               reason=f"dispatched to {branch.code}")
    out.reference = into.reference = reference
    session.add(made)
    session.flush()
    return made


def arrive(session: Session, transfer_id: int, *, actor: str | None) -> Transfer:
    """Book a transfer's arrival: out of transit into the branch. Only once."""
    transfer = session.scalars(sa.select(Transfer).where(Transfer.id == transfer_id)
                               .with_for_update(of=Transfer)
                               .execution_options(populate_existing=True)).unique().one_or_none()
    if transfer is None:
        raise NotFound(f"no transfer {transfer_id}")
    changed = session.execute(sa.update(Transfer).where(
        Transfer.id == transfer_id, Transfer.status == "in_transit")
        .values(status="arrived", arrived_at=utcnow())
        .execution_options(synchronize_session=False))
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise ValidationFailed.single("status", f"transfer {transfer_id} has arrived already",
                                      code="wrong_status")
    out, into = stock.transfer(session, transfer.product, transit_warehouse(session),
                               transfer.warehouse, transfer.quantity, actor=actor,
                               reason=f"arrived from {transfer.source.code}")
    out.reference = into.reference = transfer.reference
    session.flush()
    session.refresh(transfer)
    return transfer


def apply_plan(session: Session, plan: BranchPlan, *, actor: str | None) -> list[Transfer]:
    """Dispatch every proposed transfer of ``plan``."""
    central = stock.warehouse_by_code(session, plan.central)
    made = []
    for proposal in plan.transfers:
        product = session.get(Product, proposal.product_id)
        branch = session.get(Warehouse, proposal.warehouse_id)
        if product is None or branch is None:
            raise NotFound("a product or warehouse of the plan is gone")
        made.append(dispatch(session, product, central, branch, proposal.quantity,
                             actor=actor))
    return made

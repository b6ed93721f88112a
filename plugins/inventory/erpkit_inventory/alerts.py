"""Low-stock alerts: available stock crossing a reorder point, downwards or back up.

A crossing is judged on every change of a level (:func:`erpkit_inventory.stock.apply_change`)
against the replenishment rules of the product: a warehouse rule looks at that
warehouse's available stock, a product rule (no warehouse) at the sum over open
warehouses. Falling below the reorder point opens an alert and fires the hook
``erpkit_inventory_low_stock``; rising to it again resolves the open alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from erpkit import setup_cache as shared
from erpkit.db import utcnow
from erpkit.plugins import Registry, registry_of
from erpkit.transaction_cache import forget, holds, transaction_cache
from erpkit_inventory.models import (
    RULED_PRODUCTS,
    LowStockAlert,
    ReplenishmentRule,
    StockLevel,
    Warehouse,
)

if TYPE_CHECKING:
    from erpkit_inventory.stock import Level


#: The transaction cache of replenishment rules, by product id.
RULES = "inventory.replenishment_rules"


#: Which products have a replenishment rule: set-up asked on every reservation, kept by the
#: process while no rule changes (:mod:`erpkit.setup_cache`); the rules themselves are read
#: only for those products.


def ruled_products(session: Session) -> frozenset[int]:
    return shared.cached(session, RULED_PRODUCTS, "products", lambda: frozenset(
        session.scalars(sa.select(ReplenishmentRule.product_id).distinct())))


#: Built once: the replenishment rules of some products (read on every reservation).
_RULES_OF_PRODUCTS = sa.select(ReplenishmentRule).where(
    ReplenishmentRule.product_id.in_(sa.bindparam("product_ids", expanding=True)))


def prefetch_rules(session: Session, product_ids: Iterable[int]) -> None:
    """Read the replenishment rules of these products in one query, for
    :func:`available_changed` to find in this transaction instead of one query per
    stock change (:func:`erpkit_inventory.stock.lock_levels` calls it)."""
    cache = transaction_cache(session, RULES)
    wanted = set(product_ids) - cache.keys()
    if not wanted or _rules_pending(session):
        return
    found: dict[int, list[ReplenishmentRule]] = {pid: [] for pid in wanted}
    wanted &= ruled_products(session)
    if not wanted:
        cache.update(found)
        return
    with session.no_autoflush:  # nothing pending is a rule (checked above)
        for rule in session.scalars(_RULES_OF_PRODUCTS, {"product_ids": sorted(wanted)}):
            found[rule.product_id].append(rule)
    cache.update(found)


def _rules_pending(session: Session) -> bool:
    """Whether a rule is being added, changed or deleted in this session (not flushed)."""
    return any(isinstance(obj, ReplenishmentRule)
               for pending in (session.new, session.dirty, session.deleted) for obj in pending)


def _forget_rules_on_change(session: Session, *_args: object) -> None:
    # A rule added or deleted (and flushed) after the prefetch would be missed.
    if holds(session, RULES) and _rules_pending(session):
        forget(session, RULES)


event.listen(Session, "before_flush", _forget_rules_on_change)


def _rules_of(session: Session, level: Level) -> list[ReplenishmentRule]:
    cache = transaction_cache(session, RULES)
    cached = cache.get(level.product_id)
    if cached is None or _rules_pending(session):
        forget(session, RULES)
        return list(session.scalars(sa.select(ReplenishmentRule).where(
            ReplenishmentRule.product_id == level.product_id,
            sa.or_(ReplenishmentRule.warehouse_id == level.warehouse_id,
                   ReplenishmentRule.warehouse_id.is_(None)))))
    return [rule for rule in cached
            if rule.warehouse_id is None or rule.warehouse_id == level.warehouse_id]


def available_changed(session: Session, level: Level, before: Decimal,
                      registry: Registry | None = None) -> None:
    """React to ``level``'s available stock having moved from ``before`` (in the caller's
    transaction). Hooks are called through ``registry``, by default the session's."""
    rules = _rules_of(session, level)
    if not rules:
        return
    delta = level.available - before
    total_after: Decimal | None = None
    warehouse_open = session.scalar(sa.select(Warehouse.active).where(
        Warehouse.id == level.warehouse_id))
    for rule in rules:
        if rule.warehouse_id is None:
            if not warehouse_open:  # a closed warehouse's stock is not in the total
                continue
            if total_after is None:
                total_after = _available_in_open_warehouses(session, level.product_id)
            after, was = total_after, total_after - delta
        else:
            after, was = level.available, before
        if was >= rule.reorder_point > after:
            _open_alert(session, rule, after, registry or registry_of(session))
        elif after >= rule.reorder_point > was:
            _resolve_alerts(session, rule)


def _available_in_open_warehouses(session: Session, product_id: int) -> Decimal:
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(Warehouse.active.is_(True), StockLevel.product_id == product_id))
    return Decimal(total or 0).quantize(Decimal("0.001"))


def _open_alert(session: Session, rule: ReplenishmentRule, available: Decimal,
                registry: Registry) -> None:
    alert = LowStockAlert(product_id=rule.product_id, warehouse_id=rule.warehouse_id,
                          available=available, reorder_point=rule.reorder_point)
    session.add(alert)
    warehouse = (session.get(Warehouse, rule.warehouse_id)
                 if rule.warehouse_id is not None else None)
    registry.call("erpkit_inventory_low_stock", product=rule.product, warehouse=warehouse,
                  available=available, reorder_point=rule.reorder_point, session=session)


def _resolve_alerts(session: Session, rule: ReplenishmentRule) -> None:
    warehouse = (LowStockAlert.warehouse_id == rule.warehouse_id
                 if rule.warehouse_id is not None else LowStockAlert.warehouse_id.is_(None))
    session.execute(sa.update(LowStockAlert)
                    .where(LowStockAlert.product_id == rule.product_id, warehouse,
                           LowStockAlert.resolved_at.is_(None))
                    .values(resolved_at=utcnow()))


def open_alerts(session: Session, *, limit: int | None = None,
                before: int | None = None) -> list[LowStockAlert]:
    """Alerts not resolved yet, newest first: at most ``limit``, older than ``before``."""
    query = (sa.select(LowStockAlert).where(LowStockAlert.resolved_at.is_(None))
             .order_by(LowStockAlert.id.desc()).limit(limit))
    if before is not None:
        query = query.where(LowStockAlert.id < before)
    return list(session.scalars(query).unique())

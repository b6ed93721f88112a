"""Availability: what can still be promised, by product and by warehouse.

Available = on hand - reserved, in open warehouses only. Read-only: these functions
never lock, so the order form and the API can ask as often as they like; the reservation
on confirmation is what decides.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import Problem
from erpkit.db import flushing_only
from erpkit.parameters import get_value
from erpkit.transaction_cache import transaction_cache
from erpkit_inventory.expected import expected_receipts, expected_total
from erpkit_inventory.models import Backorder, Reservation, StockLevel, Warehouse
from erpkit_inventory.reservations import Shortfall, open_lines
from erpkit_inventory.stock import SHORTAGES, ZERO, quantity
from erpkit_orders.models import Order, Product


@dataclass
class WarehouseStock:
    warehouse: str
    on_hand: Decimal
    reserved: Decimal

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


@dataclass
class ProductAvailability:
    """One product's stock: totals over the warehouses listed, and each warehouse."""

    sku: str
    name: str
    backordered: Decimal = ZERO
    #: Ordered from suppliers, not received yet (hook ``erpkit_inventory_expected_receipts``).
    expected: Decimal = ZERO
    warehouses: list[WarehouseStock] = field(default_factory=list)

    @property
    def on_hand(self) -> Decimal:
        return sum((w.on_hand for w in self.warehouses), ZERO)

    @property
    def reserved(self) -> Decimal:
        return sum((w.reserved for w in self.warehouses), ZERO)

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


def availability(session: Session, *, sku: str | None = None,
                 warehouse: str | None = None, limit: int | None = None,
                 after: str | None = None) -> list[ProductAvailability]:
    """Availability of one product (``sku``) or of all, in one warehouse (its code) or in
    every open warehouse; products without stock anywhere are listed with zeros. In SKU
    order: at most ``limit`` products, those whose SKU sorts after ``after``."""
    # Plain Core rows through the session's connection, not Product objects (loading
    # 2,000 products as ORM objects took most of this function's time), and statements
    # built once per shape of the question (building them was a third of a small page).
    products, levels, backorders = _statements(
        sku is not None, after is not None, limit is not None, warehouse is not None)
    connection = session.connection()
    values = {"sku": sku, "after": after, "limit": limit, "warehouse": warehouse}
    found = {pid: ProductAvailability(code, name)
             for pid, code, name in connection.execute(products, values)}
    if not found:
        return []
    for product_id, code, on_hand, reserved in connection.execute(levels, values):
        if product_id in found:
            found[product_id].warehouses.append(
                WarehouseStock(code, quantity(on_hand), quantity(reserved)))
    for product_id, total in connection.execute(backorders, values):
        if product_id in found:
            found[product_id].backordered = quantity(total or 0)
    for product_id, receipts in expected_receipts(session, found).items():
        if product_id in found:
            found[product_id].expected = expected_total(receipts)
    return list(found.values())


@functools.cache
def _statements(by_sku: bool, after: bool, limited: bool, in_warehouse: bool
                ) -> tuple[Any, Any, Any]:
    """The products of the question, their levels and their backorders, with the bound
    parameters ``:sku``, ``:after``, ``:limit`` and ``:warehouse`` that it uses."""
    products = sa.select(Product.id, Product.sku, Product.name).order_by(Product.sku)
    if by_sku:
        products = products.where(Product.sku == sa.bindparam("sku"))
    if after:
        products = products.where(Product.sku > sa.bindparam("after"))
    if limited:
        products = products.limit(sa.bindparam("limit", type_=sa.Integer))
    levels = (sa.select(StockLevel.product_id, Warehouse.code, StockLevel.on_hand,
                        StockLevel.reserved)
              .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
              .where(Warehouse.active.is_(True))
              .order_by(StockLevel.product_id, Warehouse.code))
    backorders = (sa.select(Backorder.product_id, sa.func.sum(Backorder.quantity))
                  .group_by(Backorder.product_id))
    if by_sku or limited:
        # One page: its products' rows only, chosen by the page's own query rather than
        # a list of its ids (binding 500 ids took 1.5 ms a statement).
        page = sa.select(products.with_only_columns(Product.id).subquery().c.id)
        levels = levels.where(StockLevel.product_id.in_(page))
        backorders = backorders.where(Backorder.product_id.in_(page))
    if in_warehouse:
        levels = levels.where(Warehouse.code == sa.bindparam("warehouse"))
    return products, levels, backorders


def available_by_product(session: Session, product_ids: Iterable[int]) -> dict[int, Decimal]:
    """Available stock per product id, over every open warehouse."""
    available, _held = _available_and_held(session, product_ids, None)
    return available


# Built once, with bound parameters (the shortage check runs on every create and submit,
# logistics' promise on every create and confirmation): available stock per product in
# open warehouses, and with it what one order holds. On the tables' columns: a Core
# statement costs half an ORM one. The read flushes only the rows it reads
# (``flushing_only``), not the order being entered (an UPDATE more each time).
_LEVELS = StockLevel.__table__
_WAREHOUSES = Warehouse.__table__
_RESERVATIONS = Reservation.__table__
_AVAILABLE = (
    sa.select(_LEVELS.c.product_id, sa.literal(False).label("held"),
              sa.func.sum(_LEVELS.c.on_hand - _LEVELS.c.reserved))
    .join(_WAREHOUSES, _WAREHOUSES.c.id == _LEVELS.c.warehouse_id)
    .where(_WAREHOUSES.c.active.is_(True),
           _LEVELS.c.product_id.in_(sa.bindparam("product_ids", expanding=True)))
    .group_by(_LEVELS.c.product_id))
_AVAILABLE_AND_HELD = sa.union_all(_AVAILABLE, sa.select(
    _RESERVATIONS.c.product_id, sa.literal(True).label("held"),
    sa.func.sum(_RESERVATIONS.c.quantity))
    .where(_RESERVATIONS.c.order_id == sa.bindparam("order_id"))
    .group_by(_RESERVATIONS.c.product_id))


def _available_and_held(session: Session, product_ids: Iterable[int], order_id: int | None
                        ) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Available stock per product (open warehouses), and what ``order_id`` holds of
    each (its reservations, in any warehouse): one query for both."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}, defaultdict(Decimal)
    query, parameters = ((_AVAILABLE, {"product_ids": ids}) if order_id is None else
                         (_AVAILABLE_AND_HELD, {"product_ids": ids, "order_id": order_id}))
    available: dict[int, Decimal] = {}
    held: dict[int, Decimal] = defaultdict(Decimal)
    with flushing_only(session, StockLevel, Warehouse, Reservation):
        rows = session.execute(query, parameters).all()
    for product_id, is_held, total in rows:
        (held if is_held else available)[product_id] = quantity(total or 0)
    return available, held


def order_problems(session: Session, order: Order, stage: str) -> list[Problem]:
    """Lines asking for more than is available, per ``inventory.availability_check``:
    ``off`` says nothing, ``warn`` warns, ``refuse`` refuses."""
    check = get_value(session, "inventory.availability_check")
    if check == "off" or not order.lines:
        return []
    short = {s.sku: s for s in shortage_of(session, order)}
    problems: list[Problem] = []
    reported: set[str] = set()
    for index, line in enumerate(order.lines):
        sku = line.product.sku if line.product is not None else None
        if sku not in short or sku in reported:
            continue
        reported.add(sku)
        problems.append(Problem(
            field=f"lines.{index}.quantity", line=index + 1, code="insufficient_stock",
            message=str(short[sku]), severity="error" if check == "refuse" else "warning"))
    return problems


def order_facts(session: Session, order: Order) -> dict[str, Any]:
    """``inventory.has_shortage`` and ``inventory.shortage_quantity`` for approval rules."""
    total = sum((s.short for s in shortage_of(session, order)), ZERO)
    return {"inventory.has_shortage": total > 0, "inventory.shortage_quantity": total}


def stock_levels(session: Session, *, sku: str | None = None, warehouse: str | None = None,
                 limit: int | None = None, after: int | None = None) -> list[StockLevel]:
    """Stock levels (closed warehouses included), by product SKU then warehouse code: at
    most ``limit`` of them, those after the level whose id is ``after``."""
    query = (sa.select(StockLevel).join(Product, Product.id == StockLevel.product_id)
             .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
             .order_by(Product.sku, Warehouse.code).limit(limit)
             .execution_options(populate_existing=True))
    if after is not None:
        mark = session.execute(
            sa.select(Product.sku, Warehouse.code)
            .join(StockLevel, StockLevel.product_id == Product.id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(StockLevel.id == after)).one_or_none()
        if mark is None:
            return []
        query = query.where(sa.tuple_(Product.sku, Warehouse.code) > sa.tuple_(*mark))
    if sku is not None:
        query = query.where(Product.sku == sku)
    if warehouse is not None:
        query = query.where(Warehouse.code == warehouse)
    return list(session.scalars(query).unique())


def shortage_of(session: Session, order: Order) -> list[Shortfall]:
    """What ``order`` asks for beyond what it holds and what is available now (read only).

    Remembered for the rest of the transaction while the order's open lines and stock
    stay as they were (validation on submit and the approval facts then ask once): any
    stock change forgets it (:func:`erpkit_inventory.stock.apply_change`).
    """
    lines = open_lines(order)
    key = None
    if order.id is not None and all(line.id is not None for line in lines):
        key = (order.id, tuple((line.id, line.product_id, line.quantity, line.shipped_quantity)
                               for line in lines))
        cached = transaction_cache(session, SHORTAGES).get(key)
        if cached is not None:
            return list(cached)
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    skus: dict[int, str] = {}
    for line in lines:
        wanted[line.product_id] += quantity(line.quantity - line.shipped_quantity)
        skus[line.product_id] = line.product.sku
    available, held = _available_and_held(session, wanted, order.id)
    found = [Shortfall(skus[pid], available.get(pid, ZERO), amount - held[pid])
             for pid, amount in sorted(wanted.items())
             if amount - held[pid] > available.get(pid, ZERO)]
    if key is not None:
        transaction_cache(session, SHORTAGES)[key] = tuple(found)
    return found

"""Stock levels and the ledger: every change of stock goes through :func:`apply_change`.

Why it never oversells, on SQLite and on PostgreSQL alike:

* A change is one conditional ``UPDATE`` that re-checks the level's invariants in the
  database (``on_hand >= 0``, ``0 <= reserved <= on_hand``) and reports, through
  ``RETURNING``, whether it happened. Nothing is computed from a value read earlier, so a
  concurrent writer can never be overwritten (SQLite ignores ``SELECT ... FOR UPDATE``;
  this does not rely on it).
* Before changing levels, an operation locks every level it may touch in one order,
  product id then warehouse id (:func:`lock_levels`). Two transactions therefore never
  wait for each other in a cycle, so PostgreSQL finds no deadlock; if one happens anyway
  (a plugin locking rows of its own), the transition runs again
  (:func:`erpkit.transitions.run_atomic`).
* Quantities have three decimals. SQLite keeps them as binary floats, so each write
  rounds to three places and each comparison allows half a thousandth.

Functions here work in the caller's transaction and never commit.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from erpkit import ValidationFailed
from erpkit.db import utcnow
from erpkit.transaction_cache import forget
from erpkit.transitions import atomic
from erpkit_inventory.alerts import available_changed, prefetch_rules
from erpkit_inventory.models import LedgerEntry, StockLevel, Warehouse
from erpkit_orders.models import Product

#: Half the smallest quantity (0.001): the tolerance of comparisons on float storage.
TOLERANCE = Decimal("0.0005")
ZERO = Decimal(0)
STOCK = cast(sa.Table, StockLevel.__table__)
#: The transaction cache of order shortages (availability.shortage_of).
SHORTAGES = "inventory.shortages"
WAREHOUSE = cast(sa.Table, Warehouse.__table__)


class StockConflict(Exception):
    """A level changed under us: the change would break an invariant. Callers that hold
    the level locks never see it; it guards against bugs, never against users."""


@dataclass
class Level:
    """A stock level as locked by this transaction; kept current by :func:`apply_change`."""

    id: int
    product_id: int
    warehouse_id: int
    on_hand: Decimal
    reserved: Decimal
    warehouse_active: bool = True
    """Whether the level's warehouse is open (only open warehouses serve orders)."""

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


_THOUSANDTH = Decimal("0.001")


def quantity(value: Any) -> Decimal:
    """A quantity as the database keeps it: a Decimal with three places."""
    return Decimal(value).quantize(_THOUSANDTH)


def show(value: Decimal) -> str:
    """A quantity for people: ``7`` rather than ``7.000``."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _insert_ignoring_conflicts(session: Session, rows: list[dict[str, Any]]) -> None:
    # INSERT ... ON CONFLICT DO NOTHING: the two backends erpkit supports both have it.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(STOCK).values(rows).on_conflict_do_nothing(
        index_elements=["product_id", "warehouse_id"])
    session.execute(statement)


def ensure_levels(session: Session, pairs: Iterable[tuple[int, int]]) -> None:
    """Create the (product id, warehouse id) levels that do not exist yet, at zero.

    A concurrent transaction creating the same level is not an error: the row exists
    either way.
    """
    wanted = sorted(set(pairs))
    if not wanted:
        return
    now = utcnow()
    _insert_ignoring_conflicts(session, [
        {"product_id": p, "warehouse_id": w, "on_hand": ZERO, "reserved": ZERO,
         "updated_at": now} for p, w in wanted])


# The hot statements are built once, with bound parameters: building a statement and
# its cache key on every call cost more than running it (bench/README.md, issue 12).
_LOCK_LEVELS = (
    sa.select(STOCK.c.id, STOCK.c.product_id, STOCK.c.warehouse_id, STOCK.c.on_hand,
              STOCK.c.reserved, WAREHOUSE.c.active)
    .join(WAREHOUSE, WAREHOUSE.c.id == STOCK.c.warehouse_id)
    .where(STOCK.c.product_id.in_(sa.bindparam("product_ids", expanding=True)))
    .order_by(STOCK.c.product_id, STOCK.c.warehouse_id)
    .with_for_update(of=STOCK)
)


def _change_level_statement() -> sa.Update:
    new_on_hand = STOCK.c.on_hand + sa.bindparam("on_hand_change", type_=STOCK.c.on_hand.type)
    new_reserved = STOCK.c.reserved + sa.bindparam("reserved_change",
                                                   type_=STOCK.c.reserved.type)
    return (
        sa.update(STOCK)
        .where(STOCK.c.id == sa.bindparam("level_id"),
               new_on_hand >= -TOLERANCE,
               new_reserved >= -TOLERANCE,
               new_on_hand - new_reserved >= -TOLERANCE)
        .values(on_hand=sa.func.round(new_on_hand, 3), reserved=sa.func.round(new_reserved, 3),
                updated_at=sa.bindparam("now", type_=STOCK.c.updated_at.type))
        .returning(STOCK.c.on_hand, STOCK.c.reserved)
    )


#: The atomic conditional change of one level (see :func:`apply_change`).
_CHANGE_LEVEL = _change_level_statement()


def lock_levels(session: Session, product_ids: Iterable[int]) -> list[Level]:
    """Lock and read every level of these products, ordered by product then warehouse,
    with whether each level's warehouse is open.

    Every operation locks through here, in this one order, so no two transactions can
    deadlock on stock levels. (SQLite: ``BEGIN IMMEDIATE`` already serialises writers.)
    The replenishment rules of these products are read in the same go (one query for
    all of them, see :func:`erpkit_inventory.alerts.prefetch_rules`).
    """
    ids = sorted(set(product_ids))
    if not ids:
        return []
    # Levels change only through Core statements (apply_change, ensure_levels), never
    # through pending ORM objects: flushing the session first would buy nothing.
    with session.no_autoflush:
        rows = session.execute(_LOCK_LEVELS, {"product_ids": ids})
        levels = [Level(r.id, r.product_id, r.warehouse_id, quantity(r.on_hand),
                        quantity(r.reserved), bool(r.active)) for r in rows]
        prefetch_rules(session, ids)
    return levels


def active_warehouse_ids(session: Session) -> set[int]:
    return set(session.scalars(sa.select(Warehouse.id).where(Warehouse.active.is_(True))))


def apply_change(
    session: Session,
    level: Level,
    kind: str,
    *,
    on_hand: Decimal = ZERO,
    reserved: Decimal = ZERO,
    actor: str | None,
    reason: str = "",
    order_id: int | None = None,
    order_line_id: int | None = None,
    reference: str | None = None,
) -> LedgerEntry:
    """Change one level by signed deltas, atomically, and append the ledger row.

    The UPDATE only happens when the result keeps ``on_hand >= 0`` and
    ``0 <= reserved <= on_hand``; otherwise :class:`StockConflict` is raised and nothing
    changes. Crossing a reorder point fires ``erpkit_inventory_low_stock``.
    """
    on_hand, reserved = quantity(on_hand), quantity(reserved)
    changed = session.execute(_CHANGE_LEVEL, {
        "level_id": level.id, "on_hand_change": on_hand, "reserved_change": reserved,
        "now": utcnow()}).one_or_none()
    if changed is None:
        raise StockConflict(
            f"stock level {level.id} cannot change by on hand {on_hand}, reserved {reserved}")
    forget(session, SHORTAGES)  # what is available changed
    before = level.available
    level.on_hand, level.reserved = quantity(changed.on_hand), quantity(changed.reserved)
    entry = LedgerEntry(kind=kind, product_id=level.product_id, warehouse_id=level.warehouse_id,
                        on_hand_change=on_hand, reserved_change=reserved, actor=actor,
                        reason=reason, order_id=order_id, order_line_id=order_line_id,
                        reference=reference)
    session.add(entry)
    if level.available != before:
        available_changed(session, level, before)
    return entry


@functools.cache
def _reserve_on(levels: int) -> Any:
    """The conditional UPDATE of :func:`reserve_on_levels` for ``levels`` levels, built
    once per count with bound parameters (building it cost as much as running it)."""
    reserved_type = STOCK.c.reserved.type
    delta = sa.case(*((STOCK.c.id == sa.bindparam(f"level_{n}"),
                       sa.bindparam(f"reserve_{n}", type_=reserved_type))
                      for n in range(levels)),
                    else_=sa.literal(ZERO, reserved_type))
    new_reserved = STOCK.c.reserved + delta
    return (sa.update(STOCK)
            .where(STOCK.c.id.in_([sa.bindparam(f"level_{n}") for n in range(levels)]),
                   new_reserved >= -TOLERANCE, STOCK.c.on_hand - new_reserved >= -TOLERANCE)
            .values(reserved=sa.func.round(new_reserved, 3), updated_at=sa.bindparam("now"))
            .returning(STOCK.c.id, STOCK.c.on_hand, STOCK.c.reserved))


def reserve_on_levels(session: Session, takes: Sequence[tuple[Level, Decimal]], *,
                      actor: str | None, reason: str, order_id: int,
                      order_line_ids: Sequence[int]) -> list[LedgerEntry]:
    """Reserve ``quantity`` on each ``(level, quantity)`` at once: one conditional UPDATE
    of every level (instead of one per level) and a ledger row per take.

    The takes of one level are added together and checked once, against the invariants
    :func:`apply_change` keeps (reserving only adds to ``reserved``, so the sum holds
    when every step would have). A level that would break them leaves every level as it
    was and raises :class:`StockConflict`. ``order_line_ids`` names each take's line.
    """
    if len(takes) == 1:
        [(level, amount)] = takes
        return [apply_change(session, level, "reservation", reserved=amount, actor=actor,
                             reason=reason, order_id=order_id,
                             order_line_id=order_line_ids[0])]
    by_level: dict[int, Decimal] = {}
    levels: dict[int, Level] = {}
    for level, amount in takes:
        by_level[level.id] = by_level.get(level.id, ZERO) + quantity(amount)
        levels[level.id] = level
    parameters: dict[str, Any] = {"now": utcnow()}
    for n, (level_id, amount) in enumerate(by_level.items()):
        parameters[f"level_{n}"], parameters[f"reserve_{n}"] = level_id, amount
    changed = session.execute(_reserve_on(len(by_level)), parameters).all()
    if len(changed) != len(by_level):
        raise StockConflict(f"stock levels {sorted(by_level)} cannot all reserve "
                            f"{[str(v) for v in by_level.values()]}")
    forget(session, SHORTAGES)  # what is available changed
    before = {level_id: level.available for level_id, level in levels.items()}
    for row in changed:
        level = levels[row.id]
        level.on_hand, level.reserved = quantity(row.on_hand), quantity(row.reserved)
    entries = [LedgerEntry(kind="reservation", product_id=level.product_id,
                           warehouse_id=level.warehouse_id, on_hand_change=ZERO,
                           reserved_change=quantity(amount), actor=actor, reason=reason,
                           order_id=order_id, order_line_id=line_id, reference=None)
               for (level, amount), line_id in zip(takes, order_line_ids, strict=True)]
    session.add_all(entries)
    for level_id, level in levels.items():
        if level.available != before[level_id]:
            available_changed(session, level, before[level_id])
    return entries


# --- lookups ---------------------------------------------------------------------------


def product_by_sku(session: Session, sku: str, field: str = "sku") -> Product:
    product = session.scalar(sa.select(Product).where(Product.sku == sku))
    if product is None:
        raise ValidationFailed.single(field, f"unknown product {sku!r}", code="unknown_product")
    return product


def create_warehouse(session: Session, *, code: str, name: str, active: bool = True) -> Warehouse:
    """Open a warehouse; a code in use is refused. One transaction."""
    with atomic(session):
        if session.scalar(sa.select(Warehouse.id).where(Warehouse.code == code)):
            raise ValidationFailed.single("code", f"a warehouse with code {code!r} exists "
                                          "already", code="duplicate")
        warehouse = Warehouse(code=code, name=name, active=active)
        session.add(warehouse)
        session.flush()
    return warehouse


def change_warehouse(session: Session, code: str, changes: dict[str, Any]) -> Warehouse:
    """Rename, close or reopen a warehouse (never deleted: its ledger points at it)."""
    with atomic(session):
        warehouse = session.scalar(sa.select(Warehouse).where(Warehouse.code == code))
        if warehouse is None:
            raise NotFound(f"no warehouse with code {code!r}")
        for name, value in changes.items():
            setattr(warehouse, name, value)
        session.flush()
    return warehouse


def warehouse_by_code(session: Session, code: str, field: str = "warehouse") -> Warehouse:
    warehouse = session.scalar(sa.select(Warehouse).where(Warehouse.code == code))
    if warehouse is None:
        raise ValidationFailed.single(field, f"unknown warehouse {code!r}",
                                      code="unknown_warehouse")
    if not warehouse.active:
        raise ValidationFailed.single(field, f"warehouse {code} is closed",
                                      code="inactive_warehouse")
    return warehouse


def _locked_level(product_id: int, warehouse_id: int, levels: Sequence[Level]) -> Level:
    for level in levels:
        if (level.product_id, level.warehouse_id) == (product_id, warehouse_id):
            return level
    raise LookupError(f"no stock level for product {product_id} in warehouse {warehouse_id}")


def _positive(value: Any, field: str = "quantity") -> Decimal:
    amount = quantity(value)
    if amount <= 0:
        raise ValidationFailed.single(field, f"quantity must be positive, got {show(amount)}",
                                      code="quantity_not_positive")
    return amount


# --- moves people make: receipts, adjustments, transfers -------------------------------


def receive(session: Session, product: Product, warehouse: Warehouse, amount: Any, *,
            actor: str | None, reason: str = "goods received",
            reference: str | None = None) -> LedgerEntry:
    """Book goods arriving in ``warehouse``: on hand rises by ``amount``."""
    amount = _positive(amount)
    ensure_levels(session, [(product.id, warehouse.id)])
    levels = lock_levels(session, [product.id])
    level = _locked_level(product.id, warehouse.id, levels)
    return apply_change(session, level, "receipt", on_hand=amount, actor=actor,
                        reason=reason, reference=reference)


def adjust(session: Session, product: Product, warehouse: Warehouse, change: Any, *,
           actor: str | None, reason: str) -> LedgerEntry:
    """Correct on hand by a signed ``change`` (a count, breakage, theft); a reason is
    required. On hand may not fall below what is reserved."""
    change = quantity(change)
    if not reason or not reason.strip():
        raise ValidationFailed.single("reason", "say why stock is adjusted", code="required")
    if change == 0:
        raise ValidationFailed.single("quantity", "an adjustment of 0 changes nothing",
                                      code="quantity_zero")
    ensure_levels(session, [(product.id, warehouse.id)])
    level = _locked_level(product.id, warehouse.id, lock_levels(session, [product.id]))
    if level.on_hand + change < level.reserved:
        raise ValidationFailed.single(
            "quantity",
            f"{product.sku} in {warehouse.code}: cannot remove {show(-change)}; on hand is "
            f"{show(level.on_hand)} and {show(level.reserved)} of it is reserved",
            code="below_reserved")
    return apply_change(session, level, "adjustment", on_hand=change, actor=actor,
                        reason=reason.strip())


def transfer(session: Session, product: Product, source: Warehouse, target: Warehouse,
             amount: Any, *, actor: str | None,
             reason: str = "transfer") -> tuple[LedgerEntry, LedgerEntry]:
    """Move available stock from ``source`` to ``target``: two ledger rows, one reference."""
    amount = _positive(amount)
    if source.id == target.id:
        raise ValidationFailed.single("to_warehouse", "a transfer needs two warehouses",
                                      code="same_warehouse")
    ensure_levels(session, [(product.id, source.id), (product.id, target.id)])
    levels = lock_levels(session, [product.id])
    out_of = _locked_level(product.id, source.id, levels)
    into = _locked_level(product.id, target.id, levels)
    if out_of.available < amount:
        raise ValidationFailed.single(
            "quantity", f"{product.sku} in {source.code}: {show(out_of.available)} available, "
            f"cannot transfer {show(amount)}", code="insufficient_stock")
    reference = f"transfer-{uuid.uuid4().hex[:12]}"
    note = f"{reason}: {source.code} -> {target.code}"
    return (apply_change(session, out_of, "transfer", on_hand=-amount, actor=actor,
                         reason=note, reference=reference),
            apply_change(session, into, "transfer", on_hand=amount, actor=actor,
                         reason=note, reference=reference))

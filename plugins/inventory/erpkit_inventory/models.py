"""Warehouses, stock levels, the stock ledger, reservations, backorders, replenishment.

The ledger is the truth: every change of a stock level is one ``inventory_ledger`` row
written in the same transaction, and a level's ``on_hand`` and ``reserved`` always equal
the sums of its ledger rows (``erpkit inventory check`` proves it). Levels exist so that
a reservation is one conditional UPDATE of one row, never a sum over the ledger.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erpkit import setup_cache
from erpkit.db import Base, TimestampMixin, utcnow
from erpkit_orders.models import Product, Quantity

#: The kinds of ledger rows; what each one changes is in ``erpkit_inventory.stock``.
LEDGER_KINDS = ("receipt", "reservation", "release", "shipment", "adjustment", "return",
                "transfer")


class Warehouse(TimestampMixin, Base):
    __tablename__ = "inventory_warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.code


class StockLevel(Base):
    """What one warehouse holds of one product. ``available`` = on hand - reserved.

    The check constraints are the last line of defence: a bug that would oversell fails
    the transaction instead of committing a negative or over-reserved level.
    """

    __tablename__ = "inventory_stock"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "warehouse_id"),
        sa.CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        sa.CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"),
                                              index=True)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(lazy="joined")
    warehouse: Mapped[Warehouse] = relationship(lazy="joined")

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class LedgerEntry(Base):
    """One change of one stock level: who, when, why, and for which order line.

    Append-only: nothing updates or deletes these rows. ``on_hand_change`` and
    ``reserved_change`` are signed deltas of the level.
    """

    __tablename__ = "inventory_ledger"
    __table_args__ = (
        sa.Index("ix_inventory_ledger_level", "product_id", "warehouse_id", "id"),
        sa.Index("ix_inventory_ledger_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(16))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    on_hand_change: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reserved_change: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    actor: Mapped[str | None] = mapped_column(sa.String(120))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders_order.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders_order_line.id"),
                                                      index=True)
    #: Ties the rows of one move together (both legs of a transfer, a receipt's document).
    reference: Mapped[str | None] = mapped_column(sa.String(80))

    product: Mapped[Product] = relationship(lazy="joined")
    warehouse: Mapped[Warehouse] = relationship(lazy="joined")


class Reservation(Base):
    """Stock held for one order line in one warehouse.

    ``quantity`` is what is still held; shipping moves it to ``shipped``, cancelling to
    ``released``; ``returned`` counts what came back of ``shipped``. The held quantities
    of a level's reservations add up to its ``reserved``.
    """

    __tablename__ = "inventory_reservation"
    __table_args__ = (sa.UniqueConstraint("order_line_id", "warehouse_id"),
                      sa.Index("ix_inventory_reservation_level", "product_id", "warehouse_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order_line.id"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    shipped: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    released: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    returned: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Backorder(Base):
    """The part of a confirmed order line no warehouse could cover (policy ``backorder``).

    ``quantity`` is what is still owed; shipping it from stock that arrived later, or
    cancelling the order, brings it down to zero.
    """

    __tablename__ = "inventory_backorder"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order_line.id"),
                                               unique=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplenishmentRule(Base):
    """When to reorder a product: for one warehouse, or for all (``warehouse_id`` empty).

    Reorder when available stock falls to ``reorder_point``; order enough to reach
    ``order_up_to``; the supplier needs ``lead_time_days`` to deliver.
    """

    __tablename__ = "inventory_replenishment_rule"
    __table_args__ = (sa.UniqueConstraint("product_id", "warehouse_id"),
                      sa.CheckConstraint("order_up_to >= reorder_point",
                                         name="order_up_to_at_least_reorder_point"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    warehouse_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    reorder_point: Mapped[Decimal] = mapped_column(Quantity)
    order_up_to: Mapped[Decimal] = mapped_column(Quantity)
    lead_time_days: Mapped[int] = mapped_column(default=7)

    product: Mapped[Product] = relationship(lazy="joined")
    warehouse: Mapped[Warehouse | None] = relationship(lazy="joined")


class LowStockAlert(Base):
    """Available stock fell below a reorder point; resolved when it rises to it again."""

    __tablename__ = "inventory_low_stock_alert"
    __table_args__ = (sa.Index("ix_inventory_low_stock_alert_open", "resolved_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    warehouse_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    available: Mapped[Decimal] = mapped_column(Quantity)
    reorder_point: Mapped[Decimal] = mapped_column(Quantity)
    resolved_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship(lazy="joined")
    warehouse: Mapped[Warehouse | None] = relationship(lazy="joined")


MODELS = (Warehouse, StockLevel, LedgerEntry, Reservation, Backorder, ReplenishmentRule,
          LowStockAlert)

#: Set-up the processes keep while nobody changes it (:mod:`erpkit.setup_cache`). Declared
#: here, beside the models, so that every process that writes these rows (the console, the
#: API, a command, a worker) replaces the kind's generation: a process that changed them
#: without declaring the kind would leave the others using what it replaced.
RULED_PRODUCTS = "inventory.ruled_products"
setup_cache.declare(RULED_PRODUCTS, ReplenishmentRule)

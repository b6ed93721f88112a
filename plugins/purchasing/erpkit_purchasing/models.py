"""Suppliers, what they supply, purchase orders and their receipts, branch supply and
transfers.

A purchase order line's ``received`` only ever changes through one conditional UPDATE
(:func:`erpkit_purchasing.receiving.receive_line`), which refuses to pass ``quantity``:
the check constraint is the last line of defence behind it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erpkit.db import Base, Money, Precise, TimestampMixin, utcnow
from erpkit_inventory.models import Warehouse
from erpkit_orders.models import Product, Quantity

#: The life of a purchase order, in order.
PO_STATUSES = ("draft", "approved", "sent", "partially_received", "received", "closed",
               "cancelled")
TRANSFER_STATUSES = ("in_transit", "arrived")
OWNER = {"info": {"owner": "purchasing"}}


class Supplier(TimestampMixin, Base):
    __tablename__ = "purchasing_supplier"
    __table_args__ = OWNER

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Where purchase orders are sent.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    active: Mapped[bool] = mapped_column(default=True)

    contacts: Mapped[list[SupplierContact]] = relationship(
        back_populates="supplier", cascade="all, delete-orphan", order_by="SupplierContact.id")

    def __str__(self) -> str:
        return self.code


class SupplierContact(Base):
    __tablename__ = "purchasing_supplier_contact"
    __table_args__ = OWNER

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("purchasing_supplier.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str | None] = mapped_column(sa.String(80))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))

    supplier: Mapped[Supplier] = relationship(back_populates="contacts")


class SupplierProduct(Base):
    """What one supplier offers of one product: price, packs, minimum, quoted lead time.

    At most one supplier of a product is ``preferred``: purchase orders made from
    suggestions go to it.
    """

    __tablename__ = "purchasing_supplier_product"
    __table_args__ = (
        sa.UniqueConstraint("supplier_id", "product_id"),
        sa.CheckConstraint("pack_size > 0", name="pack_size_positive"),
        sa.CheckConstraint("min_order_quantity >= 0", name="min_order_not_negative"),
        sa.CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
        {"info": {"owner": "purchasing"}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("purchasing_supplier.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"), index=True)
    supplier_sku: Mapped[str | None] = mapped_column(sa.String(64))
    price: Mapped[Decimal] = mapped_column(Precise)
    pack_size: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(1))
    min_order_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    #: What the supplier quotes; the measured lead time is in the receipts.
    lead_time_days: Mapped[int] = mapped_column(default=7)
    preferred: Mapped[bool] = mapped_column(default=False)

    supplier: Mapped[Supplier] = relationship(lazy="joined")
    product: Mapped[Product] = relationship(lazy="joined")


class PurchaseOrder(TimestampMixin, Base):
    __tablename__ = "purchasing_order"
    __table_args__ = (sa.Index("ix_purchasing_order_supplier_status", "supplier_id", "status"),
                      {"info": {"owner": "purchasing"}})

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_supplier.id"))
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    status: Mapped[str] = mapped_column(sa.String(24), default="draft")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by: Mapped[str | None] = mapped_column(sa.String(120))
    approved_by: Mapped[str | None] = mapped_column(sa.String(120))
    approved_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    supplier: Mapped[Supplier] = relationship(lazy="joined")
    warehouse: Mapped[Warehouse] = relationship(lazy="joined")
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="PurchaseOrderLine.id")

    @property
    def total(self) -> Decimal:
        """Ordered quantity times price, all lines, to the cent."""
        amount = sum((line.quantity * line.unit_price for line in self.lines), Decimal(0))
        return Decimal(amount).quantize(Decimal("0.01"))

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(Base):
    __tablename__ = "purchasing_order_line"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("received >= 0", name="received_not_negative"),
        sa.CheckConstraint("received <= quantity", name="received_within_quantity"),
        sa.Index("ix_purchasing_order_line_product", "product_id"),
        {"info": {"owner": "purchasing"}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("purchasing_order.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    received: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    unit_price: Mapped[Decimal] = mapped_column(Precise)
    #: When the supplier should deliver: sent (or made) plus the lead time planned with.
    expected_on: Mapped[date | None] = mapped_column(sa.Date)

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")

    @property
    def outstanding(self) -> Decimal:
        return self.quantity - self.received


class Receipt(Base):
    """Goods received against one purchase order line: the ledger row it wrote, and how
    long the supplier took (days from sending the order to this receipt)."""

    __tablename__ = "purchasing_receipt"
    __table_args__ = (sa.Index("ix_purchasing_receipt_line", "line_id"),
                      {"info": {"owner": "purchasing"}})

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_order_line.id"))
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_supplier.id"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    amount: Mapped[Decimal] = mapped_column(Money)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    lead_time_days: Mapped[Decimal | None] = mapped_column(Precise)
    ledger_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_ledger.id"),
                                                 index=True)
    actor: Mapped[str | None] = mapped_column(sa.String(120))


class SupplyRoute(Base):
    """``warehouse`` (a branch) is supplied by ``source`` (a central warehouse)."""

    __tablename__ = "purchasing_supply_route"
    __table_args__ = (sa.CheckConstraint("warehouse_id <> source_id", name="not_itself"),
                      {"info": {"owner": "purchasing"}})

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"),
                                              unique=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    transfer_days: Mapped[int] = mapped_column(default=2)

    warehouse: Mapped[Warehouse] = relationship(foreign_keys=[warehouse_id], lazy="joined")
    source: Mapped[Warehouse] = relationship(foreign_keys=[source_id], lazy="joined")


class Transfer(TimestampMixin, Base):
    """Stock on its way from a central warehouse to a branch: out of the source into the
    in-transit warehouse when dispatched, out of transit into the branch on arrival."""

    __tablename__ = "purchasing_transfer"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),
                      {"info": {"owner": "purchasing"}})

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    status: Mapped[str] = mapped_column(sa.String(16), default="in_transit")
    expected_on: Mapped[date | None] = mapped_column(sa.Date)
    arrived_at: Mapped[datetime | None]
    reference: Mapped[str] = mapped_column(sa.String(80))
    actor: Mapped[str | None] = mapped_column(sa.String(120))

    product: Mapped[Product] = relationship(lazy="joined")
    source: Mapped[Warehouse] = relationship(foreign_keys=[source_id], lazy="joined")
    warehouse: Mapped[Warehouse] = relationship(foreign_keys=[warehouse_id], lazy="joined")


MODELS = (Supplier, SupplierContact, SupplierProduct, PurchaseOrder, PurchaseOrderLine,
          Receipt, SupplyRoute, Transfer)

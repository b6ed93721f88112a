"""Catalogue, customers, orders, lines, shipments and the timeline.

Other modules extend these without this module knowing them: they add tables of their
own keyed by ``orders_product.id`` or ``orders_customer.id`` (inventory's stock, crm's
profiles), never columns here.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erpkit.db import Base, Money, Precise, TimestampMixin, utcnow

#: Quantities: three decimals (kilograms, metres), never floats.
Quantity = sa.Numeric(18, 3, asdecimal=True)


class Product(TimestampMixin, Base):
    __tablename__ = "orders_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    unit_price: Mapped[Decimal] = mapped_column(Precise)
    category: Mapped[str] = mapped_column(sa.String(80), default="general", index=True)
    active: Mapped[bool] = mapped_column(default=True)
    unit: Mapped[str] = mapped_column(sa.String(16), default="unit")
    min_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(1))
    max_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    pack_size: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(1))

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Customer(TimestampMixin, Base):
    __tablename__ = "orders_customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    region: Mapped[str | None] = mapped_column(sa.String(80))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    addresses: Mapped[list[Address]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )

    def __str__(self) -> str:
        return self.name


class Address(Base):
    __tablename__ = "orders_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_customer.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16), default="shipping")
    line1: Mapped[str] = mapped_column(sa.String(200))
    line2: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str] = mapped_column(sa.String(100))
    postcode: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2))
    customer: Mapped[Customer] = relationship(back_populates="addresses")


def _public_token() -> str:
    return secrets.token_urlsafe(16)


class Order(Base):
    __tablename__ = "orders_order"
    __table_args__ = (
        sa.Index("ix_orders_order_status_created", "status", "id"),
        sa.Index("ix_orders_order_customer_created", "customer_id", "id"),
        sa.Index("ix_orders_order_channel_created", "channel", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(32))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_customer.id"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(24), default="draft")
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    discount_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    requested_date: Mapped[date | None]
    promised_date: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    external_ref: Mapped[str | None] = mapped_column(sa.String(80))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    public_token: Mapped[str] = mapped_column(sa.String(40), default=_public_token)
    created_by: Mapped[str | None] = mapped_column(sa.String(120))
    submitted_by: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the approvers approved: a fingerprint of lines, quantities, prices, discounts.
    approved_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(default=1)

    customer: Mapped[Customer] = relationship(lazy="joined")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderLine.line_no",
        lazy="selectin",
    )
    timeline: Mapped[list[TimelineEvent]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="TimelineEvent.id",
        lazy="select",
    )
    shipments: Mapped[list[Shipment]] = relationship(
        order_by="Shipment.id", lazy="select", viewonly=True
    )

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.number


class OrderLine(Base):
    __tablename__ = "orders_order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int]
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Precise)
    discount_percent: Mapped[Decimal] = mapped_column(Precise, default=Decimal(0))
    line_total: Mapped[Decimal] = mapped_column(Money)
    shipped_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")

    @property
    def open_quantity(self) -> Decimal:
        return self.quantity - self.shipped_quantity


class Shipment(Base):
    """Goods that left for an order: one or more lines, possibly partial quantities."""

    __tablename__ = "orders_shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), index=True
    )
    shipped_at: Mapped[datetime] = mapped_column(default=utcnow)
    tracking: Mapped[str | None] = mapped_column(sa.String(120))
    lines: Mapped[list[ShipmentLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class ShipmentLine(Base):
    __tablename__ = "orders_shipment_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_shipment.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order_line.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    order_line: Mapped[OrderLine] = relationship(lazy="joined")


class TimelineEvent(Base):
    """One entry of an order's history: a status change or a note, who, when and why."""

    __tablename__ = "orders_timeline_event"
    __table_args__ = (
        sa.Index("ix_orders_timeline_event_order", "order_id", "id"),
        # When each order entered a status: the step time limits' clock (time_limits.py).
        sa.Index("ix_orders_timeline_event_entry", "order_id", "kind", "to_status", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(16))  # status | note | edit
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str | None] = mapped_column(sa.String(24))
    actor: Mapped[str | None] = mapped_column(sa.String(120))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    public: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(sa.String(40), default="orders")

    order: Mapped[Order] = relationship(back_populates="timeline")


MODELS = (Product, Customer, Address, Order, OrderLine, Shipment, ShipmentLine, TimelineEvent)

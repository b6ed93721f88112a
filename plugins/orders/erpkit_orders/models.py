"""Catalogue, customers, orders, lines, shipments and the timeline.

Other modules extend these without this module knowing them: they add tables of their
own keyed by ``orders_product.id`` or ``orders_customer.id`` (inventory's stock, crm's
profiles), never columns here.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    #: Who the product is bought from, and the stock level at which to buy again, as the
    #: catalogue import gives them (inventory's replenishment rules may refine them).
    supplier: Mapped[str | None] = mapped_column(sa.String(120))
    reorder_level: Mapped[Decimal | None] = mapped_column(Quantity)

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Customer(TimestampMixin, Base):
    __tablename__ = "orders_customer"
    # Customers are looked up by e-mail without regard to case (intake, imports).
    __table_args__ = (sa.Index("ix_orders_customer_email_lower", sa.func.lower(sa.text("email"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    region: Mapped[str | None] = mapped_column(sa.String(80))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    #: The customer's key in the system it came from (imports match on it), kept as text.
    code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    city: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    #: An inactive customer keeps their orders and history but takes no new orders.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
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
        sa.Index("ix_orders_order_ordered_at", "ordered_at"),
        sa.Index("ix_orders_order_external_ref", "external_ref"),
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
    #: When the customer ordered: the moment of entry, or the old system's date for an
    #: order imported as history. Reports and numbering go by it, not by created_at.
    ordered_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the order first shipped (in full or in part) and was delivered.
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    #: Charged for shipping, on top of ``total`` (which is the goods, net of discount).
    shipping_charge: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    carrier: Mapped[str | None] = mapped_column(sa.String(80))
    salesperson: Mapped[str | None] = mapped_column(sa.String(120))
    ship_to_name: Mapped[str | None] = mapped_column(sa.String(200))
    ship_to_address: Mapped[str | None] = mapped_column(sa.String(300))
    ship_to_city: Mapped[str | None] = mapped_column(sa.String(100))
    ship_to_postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    ship_to_region: Mapped[str | None] = mapped_column(sa.String(80))
    ship_to_country: Mapped[str | None] = mapped_column(sa.String(2))
    #: Imported from an earlier system as history: it enters no work queue, fires no
    #: alerts and moved no stock here.
    imported_as_history: Mapped[bool] = mapped_column(default=False)
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


class ImportRun(Base):
    """One import of a file (products, customers or orders): its progress and report.

    The file's content is kept so a run stopped half-way (a worker killed) can resume
    from ``rows_done``: every batch commits its orders and its progress together.
    """

    __tablename__ = "orders_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # products | customers | orders
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: The reading options (encoding, decimal comma, date format), as JSON.
    options: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: queued | running | done | failed
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_refused: Mapped[int] = mapped_column(default=0)
    #: Counts and the refused rows (row, key, field, message) so far; final when done.
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(sa.String(120))
    #: The background job (``core_job_run``) that last ran or runs the import.
    job_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


MODELS = (Product, Customer, Address, Order, OrderLine, Shipment, ShipmentLine, TimelineEvent,
          ImportRun)

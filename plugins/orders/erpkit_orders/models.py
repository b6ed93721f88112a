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
    """A catalogue product: what an order line orders.

    Other modules key their own tables by ``orders_product.id`` (inventory's stock levels)
    instead of adding columns here.
    """

    __tablename__ = "orders_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), unique=True)
    """Stock-keeping unit, unique: what people, files and the API call the product by."""
    name: Mapped[str] = mapped_column(sa.String(200))
    """Name shown to people."""
    unit_price: Mapped[Decimal] = mapped_column(Precise)
    """List price per unit (4 decimals); an order line may agree another price."""
    category: Mapped[str] = mapped_column(sa.String(80), default="general", index=True)
    """Free-form category; approval rules test it (``orders.categories``)."""
    active: Mapped[bool] = mapped_column(default=True)
    """An inactive product stays on old orders but cannot be ordered."""
    unit: Mapped[str] = mapped_column(sa.String(16), default="unit")
    """Unit of measure (``unit``, ``kg``, ``m``)."""
    min_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(1))
    """The smallest quantity a line may order."""
    max_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    """The largest quantity a line may order; ``None``: no limit."""
    pack_size: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(1))
    """Quantities must be multiples of this."""
    supplier: Mapped[str | None] = mapped_column(sa.String(120))
    """Who the product is bought from, as the catalogue import gives it."""
    reorder_level: Mapped[Decimal | None] = mapped_column(Quantity)
    """The stock level at which to buy again, as the catalogue import gives it
    (inventory's replenishment rules may refine it per warehouse)."""

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Customer(TimestampMixin, Base):
    """Who orders: a person or a company, with its shipping and billing addresses."""

    __tablename__ = "orders_customer"
    # Customers are looked up by e-mail without regard to case (intake, imports).
    __table_args__ = (sa.Index("ix_orders_customer_email_lower", sa.func.lower(sa.text("email"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    """Name shown to people, searchable."""
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    """Contact address; the CSV import finds customers by it (``customer_email``)."""
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    region: Mapped[str | None] = mapped_column(sa.String(80))
    """Sales region, free text; approval rules test it (``orders.customer_region``)."""
    country: Mapped[str | None] = mapped_column(sa.String(2))
    """ISO 3166-1 alpha-2 code (``DE``); approval rules test it (``orders.customer_country``)."""
    code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    """The customer's key in the system it came from (imports match on it), kept as text."""
    city: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    #: An inactive customer keeps their orders and history but takes no new orders.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    addresses: Mapped[list[Address]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )
    """Shipping and billing addresses, loaded with the customer."""

    def __str__(self) -> str:
        return self.name


class Address(Base):
    """A postal address of a customer (``kind`` is ``shipping`` or ``billing``)."""

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
    """An order: a customer, lines, totals, and where it is in its life (``status``).

    Change an order only through the orders module (``erpkit_orders.lifecycle`` and
    ``erpkit_orders.intake``), which validates, fires the hooks and writes the timeline in
    one transaction. Hooks receive it typed as `erpkit.contracts.OrderLike`.
    """

    __tablename__ = "orders_order"
    __table_args__ = (
        sa.Index("ix_orders_order_status_created", "status", "id"),
        # Listings filtered by creation time walk it newest first (erpkit_orders.listing).
        sa.Index("ix_orders_order_created", "created_at", "id"),
        sa.Index("ix_orders_order_customer_created", "customer_id", "id"),
        sa.Index("ix_orders_order_channel_created", "channel", "id"),
        sa.Index("ix_orders_order_ordered_at", "ordered_at"),
        sa.Index("ix_orders_order_external_ref", "external_ref"),
        # the work queues: a status's orders by how long they have waited in it
        sa.Index("ix_orders_order_status_waiting", "status", "status_changed_at", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    """The number people use, unique, from the parameter ``orders.number_pattern``."""
    channel: Mapped[str] = mapped_column(sa.String(32))
    """Where the order came from: one of the parameter ``orders.channels``."""
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_customer.id"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    """ISO 4217 code of every amount of the order (``EUR``)."""
    status: Mapped[str] = mapped_column(sa.String(24), default="draft")
    """Where the order is in its life: a value of `erpkit_orders.Status`."""
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    """Sum of the lines' gross amounts (before discounts), rounded once to cents."""
    discount_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    """``subtotal - total``."""
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    """What the customer pays: the sum of the rounded line totals."""
    requested_date: Mapped[date | None]
    """The delivery date the customer asked for."""
    promised_date: Mapped[date | None]
    """The delivery date promised on confirmation (hook ``erpkit_delivery_promise``)."""
    note: Mapped[str | None] = mapped_column(sa.Text)
    external_ref: Mapped[str | None] = mapped_column(sa.String(80))
    """Its reference in the system it came from (a CSV import puts the file's order number here)."""
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    """The ``Idempotency-Key`` it was created with: a retry returns this order."""
    public_token: Mapped[str] = mapped_column(sa.String(40), default=_public_token)
    """Secret of the customer's status page, ``/status/<number>?token=...``."""
    created_by: Mapped[str | None] = mapped_column(sa.String(120))
    """Login of who created it."""
    submitted_by: Mapped[str | None] = mapped_column(sa.String(120))
    """Login of who submitted it; approvals keeps them from approving it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the status last changed: department time limits count from here."""
    ordered_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the customer ordered: the moment of entry, or the old system's date for an
    order imported as history. Reports and numbering go by it, not by ``created_at``."""
    shipped_at: Mapped[datetime | None]
    """When the order first shipped (in full or in part) and was delivered."""
    delivered_at: Mapped[datetime | None]
    shipping_charge: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    """Charged for shipping, on top of ``total`` (which is the goods, net of discount)."""
    carrier: Mapped[str | None] = mapped_column(sa.String(80))
    salesperson: Mapped[str | None] = mapped_column(sa.String(120))
    ship_to_name: Mapped[str | None] = mapped_column(sa.String(200))
    ship_to_address: Mapped[str | None] = mapped_column(sa.String(300))
    ship_to_city: Mapped[str | None] = mapped_column(sa.String(100))
    ship_to_postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    ship_to_region: Mapped[str | None] = mapped_column(sa.String(80))
    ship_to_country: Mapped[str | None] = mapped_column(sa.String(2))
    imported_as_history: Mapped[bool] = mapped_column(default=False)
    """Imported from an earlier system as history: it enters no work queue, fires no
    alerts and moved no stock here."""
    # What the approvers approved: a fingerprint of lines, quantities, prices, discounts.
    approved_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    """Digest of lines, quantities, prices and discounts when approved; a change re-asks."""
    version: Mapped[int] = mapped_column(default=1)
    """Counts the order's writes: a write based on a stale read fails, never overwrites."""

    customer: Mapped[Customer] = relationship(lazy="joined")
    """The customer, loaded with the order."""
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderLine.line_no",
        lazy="selectin",
    )
    """The lines, in ``line_no`` order, loaded with the order."""
    timeline: Mapped[list[TimelineEvent]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="TimelineEvent.id",
        lazy="select",
    )
    """The order's history, oldest first (loaded on access)."""
    shipments: Mapped[list[Shipment]] = relationship(
        order_by="Shipment.id", lazy="select", viewonly=True
    )
    """What left for the order, oldest first (read only; loaded on access)."""

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.number

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """What the last move of this order in this session let through but wants known
        (a confirmation a plugin refused inside submit or a last approval). Not stored:
        the timeline keeps the lasting record."""
        return list(self.__dict__.get("_erpkit_warnings", ()))

    @warnings.setter
    def warnings(self, value: list[dict[str, Any]]) -> None:
        self.__dict__["_erpkit_warnings"] = list(value)

    @property
    def held(self) -> dict[str, Any] | None:
        """When the last move asked of this order in this session was held at a gate:
        the gate, the move and what it waits on (see ``lifecycle.Held``). Not stored."""
        return self.__dict__.get("_erpkit_held")

    @held.setter
    def held(self, value: dict[str, Any] | None) -> None:
        self.__dict__["_erpkit_held"] = value


class OrderLine(Base):
    """One line of an order: a product, a quantity, its price and discount."""

    __tablename__ = "orders_order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int]
    """1-based position in the order; problems and imports name lines by it."""
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    """Ordered quantity (3 decimals)."""
    unit_price: Mapped[Decimal] = mapped_column(Precise)
    """Price per unit agreed for this order (4 decimals)."""
    discount_percent: Mapped[Decimal] = mapped_column(Precise, default=Decimal(0))
    """Discount on this line, in percent."""
    line_total: Mapped[Decimal] = mapped_column(Money)
    """``quantity * unit_price`` less the discount, rounded half-up to cents."""
    shipped_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    """How much of it has shipped so far."""

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")
    """The product, loaded with the line."""

    @property
    def open_quantity(self) -> Decimal:
        """What is still to ship: ``quantity - shipped_quantity``."""
        return self.quantity - self.shipped_quantity


class Shipment(Base):
    """Goods that left for an order: one or more lines, possibly partial quantities."""

    __tablename__ = "orders_shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), index=True
    )
    shipped_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the goods left (UTC)."""
    tracking: Mapped[str | None] = mapped_column(sa.String(120))
    """The carrier's tracking number, shown on the customer's status page."""
    lines: Mapped[list[ShipmentLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    """Which lines left, and how much of each."""


class ShipmentLine(Base):
    """How much of one order line left with a shipment."""

    __tablename__ = "orders_shipment_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_shipment.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order_line.id"),
                                               index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    """How much of the order line left with this shipment."""
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
    """``status`` (a move), ``note`` (a plugin's or a person's note) or ``edit``."""
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str | None] = mapped_column(sa.String(24))
    actor: Mapped[str | None] = mapped_column(sa.String(120))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    public: Mapped[bool] = mapped_column(default=False)
    """Shown to the customer on the status page."""
    source: Mapped[str] = mapped_column(sa.String(40), default="orders")
    """Who wrote it: ``orders`` or the name of the plugin."""

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

"""What plugins receive: the shape of the orders module's objects, as Protocols.

The hook specs (`erpkit.hookspecs`) are typed with these Protocols rather than with
the orders module's classes, because the core does not depend on the orders module: it
only promises that the object handed to a hook has these attributes. The real classes
(``erpkit_orders.Order``, ``OrderLine``, ``Customer``, ``Product``, ``Shipment``)
satisfy them; ``tests/core/test_contracts.py`` fails when a model and its Protocol drift
apart.

Every member is a read-only property: a hook reads the order it is given, and changes it
only through the orders module's functions (a lifecycle move, an update), so the change
is validated, audited and written to the timeline. A plugin that wants the full model
(to query with it) imports it: ``from erpkit_orders import Order``.

Money and quantities are `decimal.Decimal`, times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


class ProductLike(Protocol):
    """A catalogue product, as an order line refers to it."""

    @property
    def id(self) -> int: ...
    @property
    def sku(self) -> str:
        """Stock-keeping unit, unique: what people and files call the product by."""
    @property
    def name(self) -> str: ...
    @property
    def unit_price(self) -> Decimal:
        """List price per unit, in the order's currency."""
    @property
    def category(self) -> str:
        """Free-form category (``general`` by default); approval rules can test it."""
    @property
    def active(self) -> bool:
        """Whether the product may be ordered."""
    @property
    def unit(self) -> str:
        """Unit of measure (``unit``, ``kg``, ``m``)."""
    @property
    def min_quantity(self) -> Decimal: ...
    @property
    def max_quantity(self) -> Decimal | None: ...
    @property
    def pack_size(self) -> Decimal:
        """Quantities are ordered in multiples of this."""


class CustomerLike(Protocol):
    """The customer an order is for."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def region(self) -> str | None:
        """Sales region, free text; approval rules test it (``orders.customer_region``)."""
    @property
    def country(self) -> str | None:
        """ISO 3166-1 alpha-2 code (``DE``), or ``None`` when unknown."""


class OrderLineLike(Protocol):
    """One line of an order: a product, a quantity and its price."""

    @property
    def id(self) -> int: ...
    @property
    def order_id(self) -> int: ...
    @property
    def line_no(self) -> int:
        """1-based position in the order; problems name lines by it."""
    @property
    def product_id(self) -> int: ...
    @property
    def product(self) -> ProductLike: ...
    @property
    def quantity(self) -> Decimal:
        """Ordered quantity."""
    @property
    def unit_price(self) -> Decimal:
        """Price per unit agreed for this order (may differ from the list price)."""
    @property
    def discount_percent(self) -> Decimal: ...
    @property
    def line_total(self) -> Decimal:
        """``quantity * unit_price`` less the discount, rounded half-up to cents."""
    @property
    def shipped_quantity(self) -> Decimal: ...
    @property
    def open_quantity(self) -> Decimal:
        """What is still to ship: ``quantity - shipped_quantity``."""


class ShipmentLineLike(Protocol):
    """How much of one order line left with a shipment."""

    @property
    def id(self) -> int: ...
    @property
    def order_line_id(self) -> int: ...
    @property
    def order_line(self) -> OrderLineLike: ...
    @property
    def quantity(self) -> Decimal: ...


class ShipmentLike(Protocol):
    """Goods that left for an order: some lines, possibly partial quantities."""

    @property
    def id(self) -> int: ...
    @property
    def order_id(self) -> int: ...
    @property
    def shipped_at(self) -> datetime: ...
    @property
    def tracking(self) -> str | None:
        """The carrier's tracking number, shown on the customer's status page."""
    @property
    def lines(self) -> Sequence[ShipmentLineLike]: ...


class OrderLike(Protocol):
    """An order, as every lifecycle hook, validation and fact hook receives it."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str:
        """The order number people use (``SO-2026-000042``), unique."""
    @property
    def channel(self) -> str:
        """Where it came from: one of the parameter ``orders.channels`` (``web``...)."""
    @property
    def customer_id(self) -> int: ...
    @property
    def customer(self) -> CustomerLike: ...
    @property
    def currency(self) -> str:
        """ISO 4217 code of every amount of the order (``EUR``)."""
    @property
    def status(self) -> str:
        """The lifecycle status, one of ``erpkit_orders.Status`` (``draft``...)."""
    @property
    def subtotal(self) -> Decimal:
        """Sum of the lines' gross amounts (before discounts), rounded once to cents."""
    @property
    def discount_total(self) -> Decimal:
        """``subtotal - total``."""
    @property
    def total(self) -> Decimal:
        """What the customer pays: the sum of the rounded line totals."""
    @property
    def requested_date(self) -> date | None:
        """The delivery date the customer asked for."""
    @property
    def promised_date(self) -> date | None:
        """The delivery date promised on confirmation (``erpkit_delivery_promise``)."""
    @property
    def note(self) -> str | None: ...
    @property
    def external_ref(self) -> str | None:
        """The order's reference in the system it came from (the number of an import)."""
    @property
    def created_by(self) -> str | None: ...
    @property
    def submitted_by(self) -> str | None:
        """Login of who submitted it; approvals keeps them from approving it themselves."""
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def status_changed_at(self) -> datetime: ...
    @property
    def lines(self) -> Sequence[OrderLineLike]:
        """The lines, in ``line_no`` order."""
    @property
    def shipments(self) -> Sequence[ShipmentLike]: ...


class ApprovalRequestLike(Protocol):
    """What an approvals plugin opened for an order (``erpkit_order_approval_required``)."""

    @property
    def summary(self) -> str:
        """Why the order waits, for people; the orders module writes it to the timeline."""


__all__ = [
    "ApprovalRequestLike",
    "CustomerLike",
    "OrderLike",
    "OrderLineLike",
    "ProductLike",
    "ShipmentLike",
    "ShipmentLineLike",
]

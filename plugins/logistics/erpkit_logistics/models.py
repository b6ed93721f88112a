"""Carriers, their services and zones, shipping rates, shipments, packages, tracking
events and own-fleet trips.

Tables are keyed by the orders module's ids (``orders_order.id``, ``orders_product.id``,
``orders_order_line.id``); warehouses are named by code, so that the module works with
or without inventory (whose ``inventory_warehouse.code`` they match when it is there).

A shipment's status is never written by hand: it is derived from its events (console
actions and carrier events alike, ``logistics_event``), the latest by event time winning
(:mod:`erpkit_logistics.tracking`), so events arriving late or twice cannot corrupt it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from erpkit import setup_cache
from erpkit.db import Base, Money, TimestampMixin, utcnow
from erpkit_orders.models import Order, OrderLine, Product, Quantity

#: Kilograms and centimetres: three decimals, never floats.
Measure = sa.Numeric(18, 3, asdecimal=True)
#: Degrees of latitude and longitude (about 10 cm at six decimals).
Degrees = sa.Numeric(9, 6, asdecimal=True)

#: A shipment's statuses, in the order a shipment normally lives them.
STATUSES = ("picking", "packed", "handed_to_carrier", "in_transit", "out_for_delivery",
            "delivered", "exception", "returned")
#: What the customer reads for each status on the tracking page.
PUBLIC_LABELS = {
    "picking": "Being picked in the warehouse",
    "packed": "Packed, waiting for the carrier",
    "handed_to_carrier": "Handed to the carrier",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "exception": "Delayed: the carrier reported a problem",
    "returned": "Returned to sender",
}
RATE_BASES = ("weight", "value")
TRIP_STATUSES = ("planned", "running", "done")


class Carrier(TimestampMixin, Base):
    """Who carries shipments: a parcel company, or the company's own fleet."""

    __tablename__ = "logistics_carrier"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    own_fleet: Mapped[bool] = mapped_column(default=False)
    """Delivered by the company's own vehicles: its shipments are planned into trips."""
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(200))
    """The Standard Webhooks secret (``whsec_...``) its tracking webhooks are signed with."""
    active: Mapped[bool] = mapped_column(default=True)

    services: Mapped[list[CarrierService]] = relationship(
        back_populates="carrier", order_by="CarrierService.code", lazy="selectin")

    def __str__(self) -> str:
        return self.code


class CarrierService(Base):
    """One service of a carrier (``standard``, ``express``) with its pick-up cut-off."""

    __tablename__ = "logistics_service"
    __table_args__ = (sa.UniqueConstraint("carrier_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_carrier.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    pickup_cutoff: Mapped[time | None] = mapped_column(sa.Time())
    """Parcels handed over after this time of day (UTC) leave the next day."""
    active: Mapped[bool] = mapped_column(default=True)

    carrier: Mapped[Carrier] = relationship(back_populates="services", lazy="joined")

    @property
    def key(self) -> str:
        """``CARRIER/service``: how orders and people name it."""
        return f"{self.carrier.code}/{self.code}"

    def __str__(self) -> str:
        return self.key


class Zone(Base):
    """Where shipments go: a country, narrowed by a region or a postal-code prefix.

    The most specific zone matching an address wins: a postal prefix (the longest) over
    a region over the whole country.
    """

    __tablename__ = "logistics_zone"
    __table_args__ = (sa.Index("ix_logistics_zone_country", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str] = mapped_column(sa.String(2))
    region: Mapped[str | None] = mapped_column(sa.String(80))
    postal_prefix: Mapped[str | None] = mapped_column(sa.String(20))

    def __str__(self) -> str:
        return self.code


class TransitTime(Base):
    """How many days a service takes to a zone."""

    __tablename__ = "logistics_transit_time"
    __table_args__ = (sa.UniqueConstraint("service_id", "zone_id"),
                      sa.CheckConstraint("days >= 0", name="days_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_service.id"))
    zone_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_zone.id"))
    days: Mapped[int]

    service: Mapped[CarrierService] = relationship(lazy="joined")
    zone: Mapped[Zone] = relationship(lazy="joined")


class ShippingRate(Base):
    """One bracket of a service's price list, for one zone or for all (``zone`` empty).

    ``basis`` says what the bracket measures: the order's ``weight`` (kg) or ``value``
    (its total). The bracket covers measures up to ``up_to`` (no limit when empty); the
    narrowest bracket that covers the order prices it. An order whose total reaches
    ``free_above`` ships free.
    """

    __tablename__ = "logistics_rate"
    __table_args__ = (sa.Index("ix_logistics_rate_service", "service_id", "zone_id"),
                      sa.CheckConstraint("price >= 0", name="price_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_service.id"))
    zone_id: Mapped[int | None] = mapped_column(sa.ForeignKey("logistics_zone.id"))
    basis: Mapped[str] = mapped_column(sa.String(8), default="weight")
    up_to: Mapped[Decimal | None] = mapped_column(Measure)
    price: Mapped[Decimal] = mapped_column(Money)
    free_above: Mapped[Decimal | None] = mapped_column(Money)

    service: Mapped[CarrierService] = relationship(lazy="joined")
    zone: Mapped[Zone | None] = relationship(lazy="joined")


class ProductShipping(Base):
    """What logistics knows of a product: its shipping weight."""

    __tablename__ = "logistics_product"

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"),
                                            primary_key=True)
    weight_kg: Mapped[Decimal] = mapped_column(Measure, default=Decimal(0))

    product: Mapped[Product] = relationship(lazy="joined")


class BinLocation(Base):
    """Where a product sits in a warehouse; picking lists walk the bins in order."""

    __tablename__ = "logistics_bin"
    __table_args__ = (sa.UniqueConstraint("product_id", "warehouse"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    warehouse: Mapped[str] = mapped_column(sa.String(32))
    bin: Mapped[str] = mapped_column(sa.String(32))
    walk_key: Mapped[str] = mapped_column(sa.String(300))
    """The bin's place in the walk, as text the database sorts
    (:func:`erpkit_logistics.picking.walk_key`); set whenever ``bin`` is."""

    product: Mapped[Product] = relationship(lazy="joined")

    @validates("bin")
    def _keep_walk_key(self, _key: str, bin_code: str) -> str:
        from erpkit_logistics.picking import walk_key

        self.walk_key = walk_key(bin_code)
        return bin_code


class StatusMapping(Base):
    """A carrier's status code and the shipment status it means here (admins edit it)."""

    __tablename__ = "logistics_status_mapping"
    __table_args__ = (sa.UniqueConstraint("carrier_id", "carrier_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_carrier.id"))
    carrier_code: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(24))

    carrier: Mapped[Carrier] = relationship(lazy="joined")


class Vehicle(Base):
    """A vehicle of the own fleet, with what one trip of it can carry."""

    __tablename__ = "logistics_vehicle"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    max_weight_kg: Mapped[Decimal] = mapped_column(Measure)
    max_stops: Mapped[int] = mapped_column(default=20)
    depot_latitude: Mapped[Decimal | None] = mapped_column(Degrees)
    depot_longitude: Mapped[Decimal | None] = mapped_column(Degrees)
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.code


class Trip(Base):
    """One vehicle's run on one day: its stops, in the order the driver takes them."""

    __tablename__ = "logistics_trip"
    __table_args__ = (sa.Index("ix_logistics_trip_day", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    vehicle_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_vehicle.id"))
    zone_id: Mapped[int | None] = mapped_column(sa.ForeignKey("logistics_zone.id"))
    driver: Mapped[str | None] = mapped_column(sa.String(120))
    status: Mapped[str] = mapped_column(sa.String(16), default="planned")
    route_km: Mapped[Decimal | None] = mapped_column(Measure)
    """Length of the planned route (depot, stops, depot) when the stops have coordinates."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    vehicle: Mapped[Vehicle] = relationship(lazy="joined")
    zone: Mapped[Zone | None] = relationship(lazy="joined")
    stops: Mapped[list[TripStop]] = relationship(
        back_populates="trip", order_by="TripStop.sequence", cascade="all, delete-orphan",
        lazy="selectin")


class LogisticsShipment(Base):
    """Goods for one order leaving one warehouse together: items, packages, events.

    ``status`` and the times and places beside it are derived from the events
    (:func:`erpkit_logistics.tracking.derive`); ``step_started_at`` is when the current
    step (pick, pack, hand-over, delivery) began, for its time limit.
    """

    __tablename__ = "logistics_shipment"
    __table_args__ = (sa.Index("ix_logistics_shipment_status", "status", "step_started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order.id"), index=True)
    warehouse: Mapped[str] = mapped_column(sa.String(32), default="")
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("logistics_service.id"))
    zone_id: Mapped[int | None] = mapped_column(sa.ForeignKey("logistics_zone.id"))
    status: Mapped[str] = mapped_column(sa.String(24), default="picking")
    status_at: Mapped[datetime] = mapped_column(default=utcnow)
    step_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    picked_at: Mapped[datetime | None]
    holder: Mapped[str | None] = mapped_column(sa.String(120))
    """Login of who works on it now (picker, packer, driver); alerts go to them."""
    orders_shipment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders_shipment.id"), unique=True)
    """The orders module's record of the goods leaving, made at hand-over."""
    handed_over_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    """The earliest delivery event: once delivered, a later event does not undo it."""
    returned_at: Mapped[datetime | None]
    eta: Mapped[date | None]
    last_place: Mapped[str | None] = mapped_column(sa.String(200))
    exception_reason: Mapped[str | None] = mapped_column(sa.String(500))
    latitude: Mapped[Decimal | None] = mapped_column(Degrees)
    longitude: Mapped[Decimal | None] = mapped_column(Degrees)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(sa.String(120))

    order: Mapped[Order] = relationship(lazy="joined")
    service: Mapped[CarrierService | None] = relationship(lazy="joined")
    zone: Mapped[Zone | None] = relationship(lazy="joined")
    items: Mapped[list[ShipmentItem]] = relationship(
        back_populates="shipment", cascade="all, delete-orphan", lazy="selectin")
    packages: Mapped[list[Package]] = relationship(
        back_populates="shipment", cascade="all, delete-orphan", order_by="Package.id",
        lazy="selectin")

    @property
    def weight_kg(self) -> Decimal:
        """The packages' weight."""
        return sum((p.weight_kg for p in self.packages), Decimal(0))

    @property
    def handed_over(self) -> bool:
        return self.orders_shipment_id is not None

    def __str__(self) -> str:
        return f"S-{self.id}"


class ShipmentItem(Base):
    """How much of one order line goes with a shipment."""

    __tablename__ = "logistics_shipment_item"
    __table_args__ = (sa.UniqueConstraint("shipment_id", "order_line_id"),
                      sa.CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("logistics_shipment.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order_line.id"),
                                               index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    shipment: Mapped[LogisticsShipment] = relationship(back_populates="items")
    order_line: Mapped[OrderLine] = relationship(lazy="joined")


class Package(Base):
    """One parcel of a shipment: weight, dimensions and the carrier's tracking number."""

    __tablename__ = "logistics_package"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("logistics_shipment.id", ondelete="CASCADE"), index=True)
    weight_kg: Mapped[Decimal] = mapped_column(Measure)
    length_cm: Mapped[Decimal | None] = mapped_column(Measure)
    width_cm: Mapped[Decimal | None] = mapped_column(Measure)
    height_cm: Mapped[Decimal | None] = mapped_column(Measure)
    tracking: Mapped[str | None] = mapped_column(sa.String(120), index=True)

    shipment: Mapped[LogisticsShipment] = relationship(back_populates="packages")


class ShipmentEvent(Base):
    """One thing that happened to a shipment: a console action or a carrier's event.

    Stored once per ``(carrier_id, event_id)``: a carrier's retry of the same event is
    recognised and ignored. ``status`` is the shipment status it means (``None`` for a
    carrier code with no mapping yet: kept, and applied once an admin maps the code).
    """

    __tablename__ = "logistics_event"
    __table_args__ = (sa.UniqueConstraint("carrier_id", "event_id"),
                      sa.Index("ix_logistics_event_shipment", "shipment_id", "occurred_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("logistics_shipment.id", ondelete="CASCADE"))
    carrier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("logistics_carrier.id"))
    event_id: Mapped[str] = mapped_column(sa.String(120))
    source: Mapped[str] = mapped_column(sa.String(16), default="carrier")
    """``carrier`` (webhook or file), ``console`` or ``trip``."""
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    tracking: Mapped[str | None] = mapped_column(sa.String(120))
    carrier_code: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str | None] = mapped_column(sa.String(24))
    place: Mapped[str | None] = mapped_column(sa.String(200))
    eta: Mapped[date | None]
    message: Mapped[str] = mapped_column(sa.String(500), default="")
    actor: Mapped[str | None] = mapped_column(sa.String(120))

    carrier: Mapped[Carrier | None] = relationship(lazy="joined")


class TripStop(Base):
    """One shipment delivered on a trip; ``sequence`` is the driver's order."""

    __tablename__ = "logistics_trip_stop"

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_trip.id", ondelete="CASCADE"),
                                         index=True)
    sequence: Mapped[int]
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_shipment.id"),
                                             unique=True)
    delivered_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    trip: Mapped[Trip] = relationship(back_populates="stops")
    shipment: Mapped[LogisticsShipment] = relationship(lazy="joined")


# --- delivery promises ------------------------------------------------------------------

CALENDAR_SCOPES = ("warehouse", "carrier", "work_centre")
PROMISE_STAGES = ("entry", "confirmation", "revised")


class BusinessCalendar(Base):
    """When a warehouse, a carrier or a work centre works: days, hours, public holidays.

    ``subject`` is the code of what it belongs to (a warehouse code, a carrier code, a
    work centre code). Public holidays come from the ``holidays`` package for
    ``country`` and ``subdivision``; :class:`ClosedDay` adds the days admins close.
    """

    __tablename__ = "logistics_calendar"
    __table_args__ = (sa.UniqueConstraint("scope", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    subject: Mapped[str] = mapped_column(sa.String(32))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    subdivision: Mapped[str | None] = mapped_column(sa.String(10))
    working_days: Mapped[str] = mapped_column(sa.String(7), default="01234")
    """The weekdays worked, Monday ``0`` to Sunday ``6``."""
    opens: Mapped[time] = mapped_column(sa.Time(), default=time(8, 0))
    closes: Mapped[time] = mapped_column(sa.Time(), default=time(17, 0))
    """Work that arrives after this time of day (UTC) starts the next working day."""

    closed_days: Mapped[list[ClosedDay]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="ClosedDay.day",
        lazy="selectin")

    def __str__(self) -> str:
        return f"{self.scope}:{self.subject}"


class ClosedDay(Base):
    """A day a calendar's owner does not work, beyond weekends and public holidays."""

    __tablename__ = "logistics_closed_day"
    __table_args__ = (sa.UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        sa.ForeignKey("logistics_calendar.id", ondelete="CASCADE"))
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200), default="closed")

    calendar: Mapped[BusinessCalendar] = relationship(back_populates="closed_days")


class WorkCentre(Base):
    """Where made-to-order products are made, and how many units it makes a day."""

    __tablename__ = "logistics_work_centre"
    __table_args__ = (sa.CheckConstraint("daily_capacity > 0", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    daily_capacity: Mapped[Decimal] = mapped_column(Quantity)

    def __str__(self) -> str:
        return self.code


class MadeToOrder(Base):
    """A product made for each order: where, and how many working days it takes."""

    __tablename__ = "logistics_made_to_order"
    __table_args__ = (sa.CheckConstraint("lead_days >= 0", name="lead_days_not_negative"),)

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"),
                                            primary_key=True)
    work_centre_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_work_centre.id"))
    lead_days: Mapped[int]

    product: Mapped[Product] = relationship(lazy="joined")
    work_centre: Mapped[WorkCentre] = relationship(lazy="joined")


class BomLine(Base):
    """One component of a made-to-order product: how much of it one unit needs."""

    __tablename__ = "logistics_bom_line"
    __table_args__ = (sa.UniqueConstraint("product_id", "component_id"),
                      sa.CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    product: Mapped[Product] = relationship(foreign_keys=[product_id], lazy="joined")
    component: Mapped[Product] = relationship(foreign_keys=[component_id], lazy="joined")


class CapacityDay(Base):
    """How much of a work centre's day is promised already (booked atomically)."""

    __tablename__ = "logistics_capacity_day"
    __table_args__ = (sa.UniqueConstraint("work_centre_id", "day"),
                      sa.CheckConstraint("booked >= 0", name="booked_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    work_centre_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_work_centre.id"))
    day: Mapped[date]
    booked: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))


class CapacityBooking(Base):
    """Capacity one order line holds on one day of a work centre."""

    __tablename__ = "logistics_capacity_booking"
    __table_args__ = (sa.Index("ix_logistics_capacity_booking_order", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order.id"))
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order_line.id"),
                                               index=True)
    work_centre_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_work_centre.id"))
    day: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(Quantity)


class OrderPromise(Base):
    """A promise made for an order, with its explanation; the newest is the current one.

    ``hand_over_by`` is the last moment the goods can reach the carrier and still arrive
    by the promised date: the time limit of the step ``logistics.promise``.
    """

    __tablename__ = "logistics_promise"
    __table_args__ = (sa.Index("ix_logistics_promise_order", "order_id", "id"),
                      sa.Index("ix_logistics_promise_hand_over", "current", "hand_over_by"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_order.id"))
    stage: Mapped[str] = mapped_column(sa.String(16))
    promised_date: Mapped[date]
    hand_over_by: Mapped[datetime | None]
    current: Mapped[bool] = mapped_column(default=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS = (Carrier, CarrierService, Zone, TransitTime, ShippingRate, ProductShipping,
          BinLocation, StatusMapping, Vehicle, Trip, LogisticsShipment, ShipmentItem, Package,
          ShipmentEvent, TripStop, BusinessCalendar, ClosedDay, WorkCentre, MadeToOrder,
          BomLine, CapacityDay, CapacityBooking, OrderPromise)

#: Set-up the processes keep while nobody changes it (:mod:`erpkit.setup_cache`). Declared
#: here, beside the models, so that every process that writes these rows (the console, the
#: API, a command, a worker) replaces the kind's generation: a process that changed them
#: without declaring the kind would leave the others using what it replaced.
ZONES, WEIGHTS = "logistics.zones", "logistics.weights"
CALENDARS, MADE_TO_ORDER = "logistics.calendars", "logistics.made_to_order"
setup_cache.declare(ZONES, Zone)
setup_cache.declare(WEIGHTS, ProductShipping)
setup_cache.declare(CALENDARS, BusinessCalendar, ClosedDay)
setup_cache.declare(MADE_TO_ORDER, MadeToOrder)

"""Where an order goes, which service carries it, and what its shipping costs.

The destination is the order's ship-to address, or the customer's when the order has
none. The service is the one the order names in ``Order.carrier`` (``CARRIER`` or
``CARRIER/service``), else the parameter ``logistics.default_service``. The price comes
from the service's rates (:class:`~erpkit_logistics.models.ShippingRate`): all in
Decimal, rounded once to cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import setup_cache as shared
from erpkit.problems import Problem
from erpkit_logistics.models import (
    WEIGHTS,
    ZONES,
    Carrier,
    CarrierService,
    ProductShipping,
    ShippingRate,
    TransitTime,
    Zone,
)
from erpkit_logistics.setup_cache import cached

CENT = Decimal("0.01")
# Zones and shipping weights are set-up every order reads: kept by the process while
# nobody changes them (ZONES, WEIGHTS: erpkit_logistics.models).


@dataclass(frozen=True)
class ZoneKey:
    """What an order's pricing and promise need of its zone (a plain value: zones are
    kept by the process, and a row belongs to one session)."""

    id: int
    code: str
    region: str | None
    postal_prefix: str | None
DEFAULT_SERVICE = "logistics.default_service"


@dataclass(frozen=True)
class Destination:
    country: str | None
    region: str | None
    postal_code: str | None


@dataclass(frozen=True)
class Quote:
    """What shipping an order costs, and why (``explanation`` is for people)."""

    service: CarrierService | None
    zone: ZoneKey | None
    weight_kg: Decimal
    price: Decimal | None
    explanation: str


def destination(order: Any) -> Destination:
    """The order's ship-to address, else its customer's."""
    customer = order.customer
    if order.ship_to_country:
        return Destination(order.ship_to_country.upper(), order.ship_to_region,
                           order.ship_to_postal_code)
    return Destination((customer.country or "").upper() or None if customer else None,
                       customer.region if customer else None,
                       customer.postal_code if customer else None)


def zone_for(session: Session, where: Destination) -> ZoneKey | None:
    """The most specific zone of ``where``: longest postal prefix, then region, then
    the country alone."""
    if not where.country:
        return None
    country = where.country
    candidates = shared.cached(session, ZONES, country, lambda: tuple(
        ZoneKey(zone.id, zone.code, zone.region, zone.postal_prefix)
        for zone in session.scalars(sa.select(Zone).where(Zone.country == country))))
    postal = (where.postal_code or "").replace(" ", "").upper()
    region = (where.region or "").strip().lower()

    def rank(zone: ZoneKey) -> tuple[int, int] | None:
        if zone.postal_prefix:
            prefix = zone.postal_prefix.replace(" ", "").upper()
            return (2, len(prefix)) if postal.startswith(prefix) else None
        if zone.region:
            return (1, 0) if zone.region.strip().lower() == region else None
        return (0, 0)

    ranked = [(r, z.id, z) for z in candidates if (r := rank(z)) is not None]
    return max(ranked, key=lambda item: (item[0], -item[1]))[2] if ranked else None


def service_named(session: Session, name: str) -> CarrierService | None:
    """``CARRIER/service``, or ``CARRIER`` alone (its first active service by code)."""
    return cached(session, ("service", name), lambda: _service_named(session, name))


def _service_named(session: Session, name: str) -> CarrierService | None:
    carrier_code, _, service_code = name.strip().partition("/")
    query = (sa.select(CarrierService).join(Carrier)
             .where(Carrier.code == carrier_code, CarrierService.active.is_(True))
             .order_by(CarrierService.code))
    if service_code:
        query = query.where(CarrierService.code == service_code)
    return session.scalars(query.limit(1)).first()


def service_for(session: Session, order: Any, default: str) -> CarrierService | None:
    """The service the order names (``Order.carrier``), else ``default``."""
    name = order.carrier or default
    return service_named(session, name) if name else None


_SHIPPING: sa.Table = ProductShipping.__table__  # type: ignore[assignment]
#: Built once, on the table (the weights of products not cached yet, on every quote).
_WEIGHTS = sa.select(_SHIPPING.c.product_id, _SHIPPING.c.weight_kg).where(
    _SHIPPING.c.product_id.in_(sa.bindparam("product_ids", expanding=True)))


def order_weight(session: Session, order: Any) -> Decimal:
    """Sum of line quantity x product shipping weight (products without one weigh 0)."""
    weights = shared.cached_many(
        session, WEIGHTS, {line.product_id for line in order.lines},
        lambda wanted: dict(session.execute(_WEIGHTS, {"product_ids": sorted(wanted)}).all()),
        missing=Decimal(0))
    return sum((Decimal(line.quantity) * Decimal(weights.get(line.product_id) or 0)
                for line in order.lines), Decimal(0))


def transit_days(session: Session, service: CarrierService, zone: ZoneKey) -> int | None:
    return cached(session, ("transit", service.id, zone.id), lambda: session.scalar(
        sa.select(TransitTime.days).where(TransitTime.service_id == service.id,
                                          TransitTime.zone_id == zone.id)))


def _covers(rate: ShippingRate, measure: Decimal) -> bool:
    return rate.up_to is None or measure <= rate.up_to


def quote(session: Session, order: Any, default_service: str = "") -> Quote:
    """Price ``order``'s shipping with its service's rates for its zone.

    A rate for the order's zone beats a rate for every zone; among those, the narrowest
    bracket covering the order's weight (or value) wins.
    """
    service = service_for(session, order, default_service)
    zone = zone_for(session, destination(order))
    weight = order_weight(session, order)
    if service is None:
        return Quote(None, zone, weight, None, "no carrier service chosen")
    rates = session.scalars(sa.select(ShippingRate).where(
        ShippingRate.service_id == service.id,
        sa.or_(ShippingRate.zone_id.is_(None),
               ShippingRate.zone_id == (zone.id if zone else None)))).all()
    total = Decimal(order.total or 0)

    def measure(rate: ShippingRate) -> Decimal:
        return weight if rate.basis == "weight" else total

    fitting = [r for r in rates if _covers(r, measure(r))]
    if not fitting:
        where = f"zone {zone.code}" if zone else "this destination"
        return Quote(service, zone, weight, None,
                     f"{service.key} has no rate for {where} at {weight} kg / {total}")
    best = min(fitting, key=lambda r: (r.zone_id is None,
                                       r.up_to is None, r.up_to or 0, r.id))
    if best.free_above is not None and total >= best.free_above:
        return Quote(service, zone, weight, Decimal("0.00"),
                     f"{service.key}: free, the order reaches {best.free_above}")
    price = Decimal(best.price).quantize(CENT, rounding=ROUND_HALF_UP)
    bracket = f"up to {best.up_to}" if best.up_to is not None else "any"
    unit = " kg" if best.basis == "weight" else ""
    return Quote(service, zone, weight, price,
                 f"{service.key} to {zone.code if zone else 'any zone'}: {best.basis} "
                 f"{measure(best)}{unit}, bracket {bracket}{unit}: {price}")


def price_order(session: Session, order: Any, default_service: str,
                stage: str) -> list[Problem]:
    """Set ``order.shipping_charge`` from its quote; a problem when it cannot be priced.

    An order naming a carrier that does not exist is refused (the name is a typo); one
    that no rate covers gets a warning and keeps its charge.
    """
    if order.carrier and service_named(session, order.carrier) is None:
        return [Problem(field="carrier", code="unknown_service",
                        message=f"no active carrier service {order.carrier!r}; name one "
                                "as CARRIER or CARRIER/service")]
    found = quote(session, order, default_service)
    if found.price is None:
        if found.service is None:
            return []
        return [Problem(field="carrier", code="no_rate", severity="warning",
                        message=f"shipping not priced: {found.explanation}")]
    order.shipping_charge = found.price
    return []

"""Own-fleet delivery trips: plan the day, run it, record each stop.

Planning takes the own-fleet carriers' shipments that are packed or with the carrier and
on no trip yet, groups them by zone, and fills trips within each vehicle's capacity
(weight and number of stops), heaviest first into the first trip they fit (first-fit
decreasing). The stops of a trip whose shipments all carry coordinates are then put in
the order OR-Tools finds shortest (:mod:`erpkit_logistics.routing`); otherwise they stay
in entry order. Starting a trip hands over its packed shipments (the order ships) and
puts them out for delivery; each stop delivered is recorded from the driver's tablet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import TransitionRefused
from erpkit.db import utcnow
from erpkit.transitions import run_atomic
from erpkit_logistics import routing, shipments
from erpkit_logistics.models import (
    Carrier,
    CarrierService,
    LogisticsShipment,
    Trip,
    TripStop,
    Vehicle,
)
from erpkit_logistics.order_moves import change_shipment
from erpkit_logistics.tracking import record_console_event

PLANNABLE = ("packed", "handed_to_carrier", "in_transit")


@dataclass
class PlanReport:
    trips: list[Trip] = field(default_factory=list)
    unplanned: list[tuple[int, str]] = field(default_factory=list)
    """Shipments left out, with why (too heavy for any vehicle, no vehicle)."""


@dataclass
class _Load:
    vehicle: Vehicle
    shipments: list[LogisticsShipment] = field(default_factory=list)
    weight: Decimal = Decimal(0)

    def fits(self, shipment: LogisticsShipment) -> bool:
        return (len(self.shipments) < self.vehicle.max_stops
                and self.weight + shipment.weight_kg <= self.vehicle.max_weight_kg)

    def add(self, shipment: LogisticsShipment) -> None:
        self.shipments.append(shipment)
        self.weight += shipment.weight_kg


def _point(latitude: Any, longitude: Any) -> routing.Point | None:
    if latitude is None or longitude is None:
        return None
    return (Decimal(latitude), Decimal(longitude))


def waiting_shipments(session: Session) -> list[LogisticsShipment]:
    """Own-fleet shipments ready to go out and on no trip."""
    on_trips = sa.select(TripStop.shipment_id)
    return list(session.scalars(
        sa.select(LogisticsShipment)
        .join(CarrierService, CarrierService.id == LogisticsShipment.service_id)
        .join(Carrier, Carrier.id == CarrierService.carrier_id)
        .where(Carrier.own_fleet.is_(True), LogisticsShipment.status.in_(PLANNABLE),
               LogisticsShipment.id.not_in(on_trips))
        .order_by(LogisticsShipment.id)))


def _fill(vehicles: list[Vehicle], waiting: list[LogisticsShipment],
          report: PlanReport) -> list[_Load]:
    """First-fit decreasing by weight; vehicles are used in turn, a vehicle may run
    several trips in a day."""
    loads: list[_Load] = []
    heaviest = max(vehicles, key=lambda v: v.max_weight_kg)
    for shipment in sorted(waiting, key=lambda s: (-s.weight_kg, s.id)):
        if shipment.weight_kg > heaviest.max_weight_kg:
            report.unplanned.append((shipment.id, f"{shipment.weight_kg} kg is more than any "
                                     f"vehicle carries ({heaviest.max_weight_kg} kg)"))
            continue
        target = next((load for load in loads if load.fits(shipment)), None)
        if target is None:
            fitting = [v for v in vehicles if v.max_weight_kg >= shipment.weight_kg]
            target = _Load(fitting[len(loads) % len(fitting)])
            loads.append(target)
        target.add(shipment)
    return loads


def _sequence(load: _Load) -> tuple[list[LogisticsShipment], Decimal | None]:
    """The stops in driving order, and the route's length in km when it is known."""
    stops = sorted(load.shipments, key=lambda s: s.id)  # entry order
    points = [_point(s.latitude, s.longitude) for s in stops]
    if not stops or any(p is None for p in points):
        return stops, None
    known = [p for p in points if p is not None]
    depot = _point(load.vehicle.depot_latitude, load.vehicle.depot_longitude)
    order = routing.shortest_order(known, depot)
    ordered = [stops[i] for i in order]
    length = routing.route_metres([known[i] for i in order], depot)
    return ordered, (Decimal(length) / 1000).quantize(Decimal("0.001"))


def plan_day(session: Session, day: date, *, actor: Any = None) -> PlanReport:
    """Plan the waiting own-fleet shipments into trips for ``day`` (one transaction)."""

    def attempt() -> PlanReport:
        report = PlanReport()
        vehicles = list(session.scalars(sa.select(Vehicle).where(Vehicle.active.is_(True))
                                        .order_by(Vehicle.max_weight_kg.desc(), Vehicle.code)))
        waiting = waiting_shipments(session)
        if not vehicles:
            report.unplanned.extend((s.id, "no active vehicle") for s in waiting)
            return report
        by_zone: dict[int | None, list[LogisticsShipment]] = {}
        for shipment in waiting:
            by_zone.setdefault(shipment.zone_id, []).append(shipment)
        for zone_id, group in sorted(by_zone.items(), key=lambda item: item[0] or 0):
            for load in _fill(vehicles, group, report):
                ordered, length = _sequence(load)
                trip = Trip(day=day, vehicle_id=load.vehicle.id, zone_id=zone_id,
                            route_km=length, status="planned")
                trip.stops = [TripStop(sequence=n, shipment_id=s.id)
                              for n, s in enumerate(ordered, start=1)]
                session.add(trip)
                report.trips.append(trip)
        session.flush()
        return report

    return run_atomic(session, attempt)


def load_trip(session: Session, trip_id: int) -> Trip:
    trip = session.get(Trip, trip_id, populate_existing=True)
    if trip is None:
        raise TransitionRefused(f"trip {trip_id} does not exist", field="trip", code="not_found")
    return trip


def start_trip(session: Session, trip_id: int, *, driver: str | None = None,
               actor: Any = None) -> Trip:
    """The van leaves: each packed stop is handed over (its order ships) and every stop
    is out for delivery; one transaction per shipment."""
    login = getattr(actor, "login", None) or (str(actor) if actor else None)

    def mark_running() -> list[tuple[int, str]]:
        trip = load_trip(session, trip_id)
        if trip.status != "planned":
            raise TransitionRefused(f"trip {trip_id} is {trip.status}, not planned",
                                    field="status", code="not_allowed")
        trip.status = "running"
        trip.driver = driver or login
        return [(stop.shipment_id, stop.shipment.status) for stop in trip.stops]

    stops = run_atomic(session, mark_running)
    for shipment_id, status in stops:
        if status == "packed":
            shipments.hand_over(session, shipment_id, actor=actor)

        def out(session: Session, shipment: LogisticsShipment) -> None:
            if shipment.status in ("handed_to_carrier", "in_transit"):
                record_console_event(session, shipment, "out_for_delivery", actor=login,
                                     source="trip", message=f"on trip {trip_id}")
            shipment.holder = driver or login

        change_shipment(session, shipment_id, out, actor=actor)
    return load_trip(session, trip_id)


def deliver_stop(session: Session, stop_id: int, *, actor: Any = None,
                 note: str = "") -> TripStop:
    """The driver delivered this stop; the last stop ends the trip."""
    stop = session.get(TripStop, stop_id, populate_existing=True)
    if stop is None:
        raise TransitionRefused(f"stop {stop_id} does not exist", field="stop", code="not_found")
    if stop.trip.status != "running":
        raise TransitionRefused(f"trip {stop.trip_id} is {stop.trip.status}: start it first",
                                field="status", code="not_allowed")
    trip_id, shipment_id = stop.trip_id, stop.shipment_id
    login = getattr(actor, "login", None) or (str(actor) if actor else None)

    def delivered(session: Session, shipment: LogisticsShipment) -> None:
        found = session.get(TripStop, stop_id)
        assert found is not None
        if found.delivered_at is None:
            found.delivered_at = utcnow()
            found.note = note[:500]
        if found.trip.stops and all(s.delivered_at for s in found.trip.stops):
            found.trip.status = "done"
        if shipment.status != "delivered":
            record_console_event(session, shipment, "delivered", actor=login, source="trip",
                                 message=f"delivered on trip {trip_id}")

    change_shipment(session, shipment_id, delivered, actor=actor)
    found = session.get(TripStop, stop_id, populate_existing=True)
    assert found is not None
    return found


def run_sheet(session: Session, trip_id: int) -> dict[str, Any]:
    """What the driver needs: the stops in order, where to go, what to drop off."""
    trip = load_trip(session, trip_id)
    stops: list[dict[str, Any]] = []
    for stop in trip.stops:
        shipment = stop.shipment
        order = shipment.order
        customer = order.customer
        stops.append({
            "stop_id": stop.id, "sequence": stop.sequence, "shipment_id": shipment.id,
            "order": order.number,
            "name": order.ship_to_name or (customer.name if customer else ""),
            "address": order.ship_to_address or (customer.address if customer else "") or "",
            "city": order.ship_to_city or (customer.city if customer else "") or "",
            "postal_code": order.ship_to_postal_code
            or (customer.postal_code if customer else "") or "",
            "packages": len(shipment.packages), "weight_kg": shipment.weight_kg,
            "latitude": shipment.latitude, "longitude": shipment.longitude,
            "status": shipment.status, "delivered_at": stop.delivered_at,
        })
    return {"trip_id": trip.id, "day": trip.day, "vehicle": trip.vehicle.code,
            "zone": trip.zone.code if trip.zone else None, "driver": trip.driver,
            "status": trip.status, "route_km": trip.route_km, "stops": stops,
            "weight_kg": sum((stop.shipment.weight_kg for stop in trip.stops), Decimal(0))}

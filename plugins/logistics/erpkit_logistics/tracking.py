"""Tracking events: stored once, applied in any order, the latest by event time winning.

Carriers deliver webhooks at least once and out of order. Every event, a carrier's or a
console action's, is a row of ``logistics_event``, unique on ``(carrier, event id)``: a
second delivery of the same event finds its row and changes nothing. The shipment's
state is then *derived* from all its events (:func:`derive`): the status and its time
from the latest event by ``occurred_at`` (ties broken by event id, never by arrival),
the last place and ETA from the latest event that gives one, and the facts that only
grow (handed over, delivered, returned: the earliest such event) that decide the order's
moves. The same events in any order give the same state; the history keeps them all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.transitions import atomic
from erpkit_logistics.models import (
    STATUSES,
    Carrier,
    LogisticsShipment,
    Package,
    ShipmentEvent,
    StatusMapping,
)

#: The statuses that mean the carrier has the goods.
WITH_CARRIER = frozenset({"handed_to_carrier", "in_transit", "out_for_delivery", "delivered",
                          "exception", "returned"})


@dataclass(frozen=True)
class CarrierEvent:
    """One event as a carrier reports it (webhook body or file row)."""

    event_id: str
    tracking: str
    code: str
    occurred_at: datetime
    place: str | None = None
    eta: date | None = None
    message: str = ""


@dataclass
class IngestReport:
    """What became of a batch of carrier events."""

    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    """Stored, but no package has the tracking number (yet)."""
    unmapped: list[str] = field(default_factory=list)
    """Stored, but the carrier's code has no mapping: no effect until an admin maps it."""

    def as_dict(self) -> dict[str, Any]:
        return {"stored": len(self.stored), "duplicates": len(self.duplicates),
                "unmatched": self.unmatched, "unmapped": self.unmapped}


def _key(event: ShipmentEvent) -> tuple[datetime, str]:
    return (event.occurred_at, event.event_id)


def derive(session: Session, shipment: LogisticsShipment) -> None:
    """Set the shipment's status, times, place and ETA from all its mapped events."""
    events = sorted(session.scalars(sa.select(ShipmentEvent).where(
        ShipmentEvent.shipment_id == shipment.id, ShipmentEvent.status.is_not(None))), key=_key)
    if not events:
        return
    latest = events[-1]
    shipment.status = str(latest.status)
    shipment.status_at = latest.occurred_at

    def earliest(statuses: Iterable[str]) -> datetime | None:
        wanted = set(statuses)
        return min((e.occurred_at for e in events if e.status in wanted), default=None)

    shipment.handed_over_at = earliest(WITH_CARRIER)
    shipment.delivered_at = earliest({"delivered"})
    shipment.returned_at = earliest({"returned"})
    placed = [e for e in events if e.place]
    shipment.last_place = placed[-1].place if placed else None
    dated = [e for e in events if e.eta]
    shipment.eta = dated[-1].eta if dated else None
    shipment.exception_reason = latest.message or None if latest.status == "exception" else None
    if shipment.status == "picking":
        shipment.step_started_at = shipment.picked_at or shipment.created_at
    elif shipment.status == "packed":
        shipment.step_started_at = latest.occurred_at
    elif shipment.handed_over_at is not None:
        shipment.step_started_at = shipment.handed_over_at


def record_console_event(session: Session, shipment: LogisticsShipment, status: str, *,
                         actor: str | None = None, message: str = "", place: str | None = None,
                         source: str = "console") -> ShipmentEvent:
    """A person's action on the shipment, as an event of its history (time: now)."""
    if status not in STATUSES:
        raise ValueError(f"unknown shipment status {status!r}")
    event = ShipmentEvent(shipment_id=shipment.id, carrier_id=None, source=source,
                          event_id=f"{source}-{uuid.uuid4().hex}", occurred_at=utcnow(),
                          status=status, message=message[:500], place=place, actor=actor)
    session.add(event)
    return event


def mapped_status(session: Session, carrier: Carrier, code: str) -> str | None:
    return session.scalar(sa.select(StatusMapping.status).where(
        StatusMapping.carrier_id == carrier.id, StatusMapping.carrier_code == code))


def _stored(session: Session, carrier: Carrier, event_id: str) -> bool:
    return session.scalar(sa.select(ShipmentEvent.id).where(
        ShipmentEvent.carrier_id == carrier.id, ShipmentEvent.event_id == event_id)) is not None


def shipment_for_tracking(session: Session, tracking: str) -> int | None:
    return session.scalar(sa.select(Package.shipment_id).where(Package.tracking == tracking)
                          .order_by(Package.id.desc()).limit(1))


def ingest(session: Session, carrier: Carrier, events: Sequence[CarrierEvent], *,
           actor: Any = None) -> IngestReport:
    """Store each event once and apply it to its shipment, one transaction per event
    (together with the order move it causes, :mod:`erpkit_logistics.order_moves`)."""
    from erpkit_logistics.order_moves import change_shipment

    report = IngestReport()
    carrier_id = carrier.id
    for event in events:
        status = mapped_status(session, carrier, event.code)
        shipment_id = shipment_for_tracking(session, event.tracking)
        added: list[bool] = []

        def store(session: Session, shipment: LogisticsShipment | None, event: CarrierEvent = event,
                  status: str | None = status, added: list[bool] = added) -> None:
            added.clear()
            if session.scalar(sa.select(ShipmentEvent.id).where(
                    ShipmentEvent.carrier_id == carrier_id,
                    ShipmentEvent.event_id == event.event_id)) is not None:
                return  # a retry of an event we have: idempotent
            session.add(ShipmentEvent(
                shipment_id=shipment.id if shipment else None, carrier_id=carrier_id,
                event_id=event.event_id, source="carrier", occurred_at=event.occurred_at,
                tracking=event.tracking, carrier_code=event.code, status=status,
                place=event.place, eta=event.eta, message=event.message[:500]))
            added.append(True)

        try:
            if shipment_id is None:
                with atomic(session):
                    store(session, None)
            else:
                change_shipment(session, shipment_id, store, actor=actor)
        except sa.exc.IntegrityError:  # the same event, stored by a concurrent delivery
            session.rollback()
            added.clear()
        if not added:
            report.duplicates.append(event.event_id)
            continue
        report.stored.append(event.event_id)
        if shipment_id is None:
            report.unmatched.append(event.event_id)
        if status is None:
            report.unmapped.append(event.event_id)
    return report


def remap(session: Session, mapping: StatusMapping) -> int:
    """Apply a (new or changed) mapping to the events of its carrier and code; returns
    how many shipments it changed."""
    from erpkit_logistics.order_moves import change_shipment

    carrier_id, code, status = mapping.carrier_id, mapping.carrier_code, mapping.status
    shipment_ids = sorted({found for found in session.scalars(
        sa.select(ShipmentEvent.shipment_id).where(
            ShipmentEvent.carrier_id == carrier_id, ShipmentEvent.carrier_code == code))
        if found is not None})
    session.rollback()

    def update(session: Session, shipment: LogisticsShipment) -> None:
        session.execute(sa.update(ShipmentEvent).where(
            ShipmentEvent.shipment_id == shipment.id, ShipmentEvent.carrier_id == carrier_id,
            ShipmentEvent.carrier_code == code).values(status=status))

    for shipment_id in shipment_ids:
        change_shipment(session, shipment_id, update)
    return len(shipment_ids)


def history(session: Session, shipment_id: int) -> list[ShipmentEvent]:
    """Every event of the shipment, by event time (unmapped ones included)."""
    return sorted(session.scalars(sa.select(ShipmentEvent).where(
        ShipmentEvent.shipment_id == shipment_id)), key=_key)

"""The facts approval rules may test about an order's shipping (declared and computed
here): where it goes, with which service, and what shipping it costs. Computing them
only reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from erpkit import FactDefinition
from erpkit_logistics import rates

FACTS = (
    FactDefinition("logistics.destination_zone", "string",
                   "The code of the shipping zone the order goes to (most specific match "
                   "of its ship-to address)."),
    FactDefinition("logistics.service", "string",
                   "The carrier service that ships the order, as CARRIER/service."),
    FactDefinition("logistics.shipping_cost", "decimal",
                   "What shipping the order costs by the service's rates (0 when free)."),
)


def order_facts(session: Session, order: Any, default_service: str) -> dict[str, Any]:
    found = rates.quote(session, order, default_service)
    return {
        "logistics.destination_zone": found.zone.code if found.zone else None,
        "logistics.service": found.service.key if found.service else None,
        "logistics.shipping_cost": found.price,
    }

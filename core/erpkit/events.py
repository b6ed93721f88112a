"""The event catalogue: every event erpkit can tell the outside world about.

An :class:`EventType` has a name (``order.confirmed``; a plugin's events start with its
name: ``loyalty.points_granted``), a version (raised when the payload changes in a way a
receiver must notice) and a marshmallow schema of its payload. The core declares the
order lifecycle, step breaches and low stock; plugins declare theirs through the hook
``erpkit_events``. The catalogue is documented in docs/webhooks.md and served in the
OpenAPI document (``GET /api/v1/webhooks/events`` lists it with JSON schemas).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from marshmallow import Schema, fields

if TYPE_CHECKING:
    from erpkit.plugins import Registry


@dataclass(frozen=True)
class EventType:
    """One kind of event: ``name``, payload ``version``, payload ``schema`` (a class)."""

    name: str
    schema: type[Schema]
    version: int = 1
    description: str = ""


class OrderEventSchema(Schema):
    """What every order event carries: the order as it is after the move."""

    order_id = fields.Integer(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "status after the move"})
    previous_status = fields.String(allow_none=True)
    transition = fields.String(required=True, metadata={"description": "submit, ship, ..."})
    actor = fields.String(allow_none=True, metadata={"description": "login, or null"})
    customer_id = fields.Integer(allow_none=True)
    channel = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    total = fields.Decimal(as_string=True, allow_none=True)
    order_version = fields.Integer(allow_none=True,
                                   metadata={"description": "the order's ETag version"})
    reason = fields.String(allow_none=True)


class OrderShippedEventSchema(OrderEventSchema):
    shipment_id = fields.Integer(allow_none=True)
    tracking = fields.String(allow_none=True)


class ApprovalRequestedEventSchema(OrderEventSchema):
    summary = fields.String(allow_none=True, metadata={"description": "why it waits"})


class StatusChangedEventSchema(OrderEventSchema):
    pass


class StepBreachedEventSchema(Schema):
    step = fields.String(required=True)
    action = fields.String(required=True)
    overdue_seconds = fields.Integer(required=True)
    subject_type = fields.String(required=True)
    subject_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)


class LowStockEventSchema(Schema):
    product_id = fields.Integer(allow_none=True)
    sku = fields.String(allow_none=True)
    warehouse_id = fields.Integer(allow_none=True)
    available = fields.Decimal(as_string=True, required=True)
    reorder_point = fields.Decimal(as_string=True, required=True)


#: The order lifecycle's events, by the hook that writes them.
ORDER_EVENTS: dict[str, EventType] = {
    "erpkit_order_created": EventType("order.created", OrderEventSchema,
                                      description="An order was created (draft)."),
    "erpkit_order_submitted": EventType("order.submitted", OrderEventSchema,
                                        description="An order was submitted."),
    "erpkit_order_approval_requested": EventType(
        "order.approval_requested", ApprovalRequestedEventSchema,
        description="An order waits for approval."),
    "erpkit_order_approved": EventType("order.approved", OrderEventSchema,
                                       description="An order was approved."),
    "erpkit_order_rejected": EventType("order.rejected", OrderEventSchema,
                                       description="An approver rejected an order."),
    "erpkit_order_confirmed": EventType("order.confirmed", OrderEventSchema,
                                        description="An order was confirmed."),
    "erpkit_order_shipped": EventType("order.shipped", OrderShippedEventSchema,
                                      description="Goods of an order left (partly or all)."),
    "erpkit_order_delivered": EventType("order.delivered", OrderEventSchema,
                                        description="An order was delivered."),
    "erpkit_order_cancelled": EventType("order.cancelled", OrderEventSchema,
                                        description="An order was cancelled."),
    "erpkit_order_returned": EventType("order.returned", OrderEventSchema,
                                       description="A delivered order came back."),
    "erpkit_order_status_changed": EventType(
        "order.status_changed", StatusChangedEventSchema,
        description="Any status change (sent after the specific event)."),
}
STEP_BREACHED = EventType("step.breached", StepBreachedEventSchema,
                          description="A step ran over its time limit.")
LOW_STOCK = EventType("inventory.low_stock", LowStockEventSchema,
                      description="Available stock fell below a reorder point "
                                  "(with the inventory module).")


def core_events() -> list[EventType]:
    """The events the core writes itself."""
    return [*ORDER_EVENTS.values(), STEP_BREACHED, LOW_STOCK]


def catalogue(registry: Registry) -> dict[str, EventType]:
    """Every event of this registry, by name: the core's and the plugins'."""
    from erpkit.plugins import setup_items

    found: dict[str, EventType] = {}
    items: Iterable[tuple[str, EventType]] = setup_items(registry, "erpkit_events")
    for owner, event in items:
        if event.name in found:
            raise ValueError(f"event {event.name!r} is declared twice (again by {owner!r}). "
                             "Fix: prefix event names with the plugin name.")
        if owner != "core" and not event.name.startswith(f"{owner}."):
            raise ValueError(f"plugin {owner!r} declares the event {event.name!r}. Fix: name "
                             f"it '{owner}.{event.name.rpartition('.')[2]}'.")
        found[event.name] = event
    return found

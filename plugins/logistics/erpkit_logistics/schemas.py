"""What the logistics API reads and writes. Weights and sizes are decimal strings with
three places, money with two, coordinates with six; times are ISO 8601 in UTC. Decimals
are read by the core's :class:`erpkit.schemas.StrictDecimal` at their column's scale and
precision: ASCII digits, no more places than the column keeps, never a float.

Listings are pages, ``{"items": [...], "next": cursor}``; no counts."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from erpkit.schemas import (
    Cursor,
    Day,
    Identifier,
    PageSize,
    Quantity,
    StrictDecimal,
    page_schema,
)
from erpkit_logistics.models import STATUSES


def Measure(**kwargs: Any) -> StrictDecimal:
    """A weight or a size: 3 places (``Numeric(18, 3)``)."""
    return StrictDecimal(3, **kwargs)


def Money(**kwargs: Any) -> StrictDecimal:
    """Money: 2 places (``Numeric(18, 2)``)."""
    return StrictDecimal(2, **kwargs)


def Degrees(**kwargs: Any) -> StrictDecimal:
    """A latitude or longitude: 6 places, 9 digits (``Numeric(9, 6)``)."""
    return StrictDecimal(6, 9, **kwargs)


class ItemInSchema(Schema):
    line_id = Identifier(required=True)
    quantity = Quantity(required=True, validate=validate.Range(min=0, min_inclusive=False))


class ShipmentCreateSchema(Schema):
    order_id = Identifier(required=True)
    lines = fields.List(fields.Nested(ItemInSchema), load_default=None, metadata={
        "description": "Which lines and how much; everything left to ship when left out."})
    warehouse = fields.String(load_default=None, validate=validate.Length(min=1, max=32))
    latitude = Degrees(load_default=None, validate=validate.Range(min=-90, max=90))
    longitude = Degrees(load_default=None, validate=validate.Range(min=-180, max=180))

    @validates_schema
    def _both_coordinates(self, data: dict[str, Any], **_kw: Any) -> None:
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise ValidationError("give both latitude and longitude, or neither", "latitude")


class PackageInSchema(Schema):
    weight_kg = Measure(required=True, validate=validate.Range(min=0, min_inclusive=False))
    length_cm = Measure(load_default=None, validate=validate.Range(min=0))
    width_cm = Measure(load_default=None, validate=validate.Range(min=0))
    height_cm = Measure(load_default=None, validate=validate.Range(min=0))
    tracking = fields.String(load_default=None, validate=validate.Length(min=1, max=120))


class PackSchema(Schema):
    packages = fields.List(fields.Nested(PackageInSchema), required=True,
                           validate=validate.Length(min=1, max=100))


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DeliverSchema(Schema):
    place = fields.String(load_default=None, validate=validate.Length(max=200))


class ItemSchema(Schema):
    line_id = fields.Integer(attribute="order_line_id")
    sku = fields.String(attribute="order_line.product.sku")
    quantity = Measure()


class PackageSchema(Schema):
    id = fields.Integer()
    weight_kg = Measure()
    length_cm = Measure(allow_none=True)
    width_cm = Measure(allow_none=True)
    height_cm = Measure(allow_none=True)
    tracking = fields.String(allow_none=True)


class EventSchema(Schema):
    id = fields.Integer()
    event_id = fields.String()
    source = fields.String()
    carrier = fields.String(attribute="carrier.code", allow_none=True)
    occurred_at = fields.DateTime()
    received_at = fields.DateTime()
    carrier_code = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    place = fields.String(allow_none=True)
    eta = fields.Date(allow_none=True)
    message = fields.String()


class ShipmentSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    order_number = fields.String(attribute="order.number")
    order_status = fields.String(attribute="order.status")
    warehouse = fields.String()
    service = fields.String(attribute="service.key", allow_none=True)
    zone = fields.String(attribute="zone.code", allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    status_at = fields.DateTime()
    holder = fields.String(allow_none=True)
    picked_at = fields.DateTime(allow_none=True)
    handed_over_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    eta = fields.Date(allow_none=True)
    last_place = fields.String(allow_none=True)
    exception_reason = fields.String(allow_none=True)
    weight_kg = Measure()
    latitude = Degrees(allow_none=True)
    longitude = Degrees(allow_none=True)
    items = fields.List(fields.Nested(ItemSchema))
    packages = fields.List(fields.Nested(PackageSchema))


def _events(shipment: Any) -> Any:
    from erpkit.db import db
    from erpkit_logistics.tracking import history

    return EventSchema(many=True).dump(history(db.session, shipment.id))


class ShipmentDetailSchema(ShipmentSchema):
    events = fields.Function(_events, metadata={
        "description": "Every event, by event time: console actions and carrier events "
                       "(unmapped ones with status null)."})


class ShipmentQuery(Schema):
    order_id = Identifier()
    status = fields.String(validate=validate.OneOf(STATUSES))
    warehouse = fields.String(validate=validate.Length(max=32))
    limit = PageSize()
    before = Cursor(metadata={"description": "The `next` of the previous page: shipments "
                                             "older than this id."})


ShipmentPageSchema = page_schema("ShipmentPageSchema", ShipmentSchema, fields.Integer,
                                 "Pass as `before` for the next page; null on the last page.")


class PickLineSchema(Schema):
    bin = fields.String(allow_none=True)
    sku = fields.String()
    name = fields.String()
    quantity = Measure()
    shipment_id = fields.Integer()
    order_number = fields.String()


class PickingQuery(Schema):
    warehouse = fields.String(required=True, validate=validate.Length(min=1, max=32))
    limit = PageSize()
    after = Identifier(metadata={"description": "The `next` of the previous page: the "
                                                "lines after that one in walking order."})


PickPageSchema = page_schema("PickPageSchema", PickLineSchema, fields.Integer)


class QuoteSchema(Schema):
    service = fields.String(allow_none=True)
    zone = fields.String(allow_none=True)
    weight_kg = Measure()
    price = Money(allow_none=True)
    transit_days = fields.Integer(allow_none=True)
    explanation = fields.String()


class CarrierEventInSchema(Schema):
    """One event in a carrier's webhook body or import file."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    tracking = fields.String(required=True, validate=validate.Length(min=1, max=120))
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    occurred_at = fields.AwareDateTime(required=True, metadata={
        "description": "When it happened, with its time zone (ISO 8601)."})
    place = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    eta = fields.Date(load_default=None, allow_none=True)
    message = fields.String(load_default="", validate=validate.Length(max=500))


class WebhookBodySchema(Schema):
    events = fields.List(fields.Nested(CarrierEventInSchema), required=True,
                         validate=validate.Length(min=1, max=1000))


class IngestSchema(Schema):
    stored = fields.Integer()
    duplicates = fields.Integer()
    unmatched = fields.List(fields.String())
    unmapped = fields.List(fields.String())


class PlanSchema(Schema):
    day = fields.Date(required=True)


class StartTripSchema(Schema):
    driver = fields.String(load_default=None, validate=validate.Length(min=1, max=120))


class StopNoteSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=500))


class StopSchema(Schema):
    stop_id = fields.Integer()
    sequence = fields.Integer()
    shipment_id = fields.Integer()
    order = fields.String()
    name = fields.String()
    address = fields.String()
    city = fields.String()
    postal_code = fields.String()
    packages = fields.Integer()
    weight_kg = Measure()
    latitude = Degrees(allow_none=True)
    longitude = Degrees(allow_none=True)
    status = fields.String()
    delivered_at = fields.DateTime(allow_none=True)


class RunSheetSchema(Schema):
    trip_id = fields.Integer()
    day = fields.Date()
    vehicle = fields.String()
    zone = fields.String(allow_none=True)
    driver = fields.String(allow_none=True)
    status = fields.String()
    route_km = Measure(allow_none=True)
    weight_kg = Measure()
    stops = fields.List(fields.Nested(StopSchema))


class PlanResultSchema(Schema):
    trips = fields.List(fields.Nested(RunSheetSchema))
    unplanned = fields.List(fields.Dict())


class ShippingFiguresQuery(Schema):
    start = Day(data_key="from", metadata={"description": "First day (default: 30 days "
                                                   "before the last)."})
    end = Day(data_key="to", metadata={"description": "Last day (default: today); at most "
                                               "core.max_report_days days after the first."})
    carrier = fields.String(validate=validate.Length(max=32))
    zone = fields.String(validate=validate.Length(max=32))


class ShippingFiguresSchema(Schema):
    carrier = fields.String()
    zone = fields.String()
    shipments = fields.Integer()
    handed_over = fields.Integer()
    delivered = fields.Integer()
    exceptions = fields.Integer()
    returned = fields.Integer()
    order_to_ship_days = fields.Decimal(places=2, as_string=True, allow_none=True)
    ship_to_delivery_days = fields.Decimal(places=2, as_string=True, allow_none=True)


class TrackingStepSchema(Schema):
    at = fields.DateTime()
    status = fields.String()
    label = fields.String()
    place = fields.String(allow_none=True)


class TrackedShipmentSchema(Schema):
    status = fields.String()
    label = fields.String()
    last_place = fields.String(allow_none=True)
    eta = fields.Date(allow_none=True)
    tracking = fields.List(fields.String())
    history = fields.List(fields.Nested(TrackingStepSchema))


class TrackingPageSchema(Schema):
    number = fields.String()
    order_status = fields.String()
    shipments = fields.List(fields.Nested(TrackedShipmentSchema))


class TokenQuery(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=100))


# --- delivery promises ------------------------------------------------------------------


class PromiseStepSchema(Schema):
    kind = fields.String()
    day = fields.String(metadata={"description": "ISO date"})
    text = fields.String()
    line = fields.String(allow_none=True, metadata={"description": "The line's SKU"})
    public = fields.String(allow_none=True, metadata={
        "description": "The step in the customer's words, when it has them"})


class PromiseRecordSchema(Schema):
    stage = fields.String(metadata={"description": "entry, confirmation or revised"})
    promised_date = fields.Date()
    hand_over_by = fields.DateTime(allow_none=True, metadata={
        "description": "The last moment the goods can reach the carrier and still arrive"})
    steps = fields.List(fields.Nested(PromiseStepSchema))
    reason = fields.String()
    created_at = fields.DateTime()


class OrderPromiseSchema(Schema):
    order_id = fields.Integer()
    number = fields.String()
    status = fields.String()
    promised_date = fields.Date(allow_none=True, metadata={
        "description": "The date the order holds (set at confirmation)"})
    current = fields.Nested(PromiseRecordSchema, allow_none=True, metadata={
        "description": "The promise on record, with its explanation"})
    quote = fields.Nested(PromiseRecordSchema, allow_none=True, metadata={
        "description": "Worked out now, nothing booked: for orders not confirmed yet"})
    history = fields.List(fields.Nested(PromiseRecordSchema))


class ReviseSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class PerformanceQuery(Schema):
    by = fields.String(load_default="order", validate=validate.OneOf(
        ("order", "carrier", "zone", "warehouse", "product")))
    since = Day(load_default=None, metadata={
        "description": "First promised day (default: the longest period allowed, "
                       "core.max_report_days days, up to the last)."})
    until = Day(load_default=None, metadata={"description": "Last promised day (default: "
                                                            "today)."})


class KeptSchema(Schema):
    key = fields.String()
    orders = fields.Integer()
    on_time = fields.Integer()
    late = fields.Integer()
    on_time_rate = fields.Decimal(as_string=True)
    average_days_late = fields.Decimal(as_string=True)


class QuoteLineSchema(Schema):
    product_id = Identifier(required=True)
    quantity = Quantity(required=True, validate=validate.Range(
        min=0, min_inclusive=False, max=10**9))


class QuoteRequestSchema(Schema):
    """Lines not saved yet (the order form as it is typed): what would be promised."""

    customer_id = Identifier(required=True)
    lines = fields.List(fields.Nested(QuoteLineSchema), required=True,
                        validate=validate.Length(min=1, max=500))
    service = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(min=1, max=80), metadata={
                                "description": "CARRIER or CARRIER/service; else the "
                                "draft's carrier, else logistics.default_service"})
    requested_date = Day(load_default=None, allow_none=True)
    order_id = Identifier(load_default=None, allow_none=True, metadata={
        "description": "The draft being edited: its ship-to address and carrier count"})


class PromiseQuoteSchema(Schema):
    promised_date = fields.Date()
    hand_over_by = fields.DateTime(metadata={
        "description": "The last moment the goods can reach the carrier and still arrive"})
    steps = fields.List(fields.Nested(PromiseStepSchema))

"""Request and response schemas of ``/api/purchasing``: quantities are decimal strings
with three places, prices with four, money with two."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate, validates_schema

from erpkit.db import db
from erpkit.parameters import get_value
from erpkit.schemas import (
    Amount,
    Cursor,
    Day,
    Identifier,
    PageSize,
    Price,
    Quantity,
    StrictDecimal,
    check_period,
    page_schema,
)


class ContactSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default=None, validate=validate.Length(max=80))
    email = fields.Email(load_default=None)
    phone = fields.String(load_default=None, validate=validate.Length(max=40))


class SupplierSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None)
    active = fields.Boolean(dump_only=True)
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list)


class OfferSchema(Schema):
    supplier = fields.String(attribute="supplier.code", dump_only=True)
    sku = fields.String(required=True)
    supplier_sku = fields.String(load_default=None, validate=validate.Length(max=64))
    price = Price(required=True, validate=validate.Range(min=0))
    pack_size = Quantity(load_default=None, validate=validate.Range(min=0, min_inclusive=False))
    min_order_quantity = Quantity(load_default=None, validate=validate.Range(min=0))
    lead_time_days = fields.Integer(load_default=7, validate=validate.Range(min=0, max=3650))
    preferred = fields.Boolean(load_default=False)


class LineSchema(Schema):
    id = fields.Integer(dump_only=True)
    sku = fields.String(attribute="product.sku", dump_only=True)
    quantity = Quantity()
    received = Quantity(dump_only=True)
    outstanding = Quantity(dump_only=True)
    unit_price = Price()
    expected_on = fields.Date(dump_only=True)


class PurchaseOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    supplier = fields.String(attribute="supplier.code")
    warehouse = fields.String(attribute="warehouse.code")
    status = fields.String()
    total = Amount()
    note = fields.String()
    created_by = fields.String()
    approved_by = fields.String()
    sent_at = fields.DateTime()
    lines = fields.List(fields.Nested(LineSchema))
    held = fields.Dict(metadata={"description": "When an approval rule holds the draft "
                                                "(202): the gate, why, and the request."})


class NewLineSchema(Schema):
    sku = fields.String(required=True)
    quantity = Quantity(required=True, validate=validate.Range(min=0, min_inclusive=False))
    unit_price = Price(load_default=None, validate=validate.Range(min=0))


class NewOrderSchema(Schema):
    supplier = fields.String(required=True)
    warehouse = fields.String(required=True)
    lines = fields.List(fields.Nested(NewLineSchema), load_default=list)


class LineChangeSchema(Schema):
    quantity = Quantity(validate=validate.Range(min=0))
    unit_price = Price(validate=validate.Range(min=0))


class ReceiveSchema(Schema):
    line_id = Identifier(required=True)
    quantity = Quantity(required=True, validate=validate.Range(min=0, min_inclusive=False))


class ReceiptSchema(Schema):
    id = fields.Integer()
    line_id = fields.Integer()
    quantity = Quantity()
    amount = Amount()
    received_at = fields.DateTime()
    lead_time_days = StrictDecimal(2)
    ledger_entry_id = fields.Integer()


class LeadTimeSchema(Schema):
    mean = StrictDecimal(2)
    spread = StrictDecimal(2)
    samples = fields.Integer()
    measured = fields.Boolean()
    quoted = fields.Integer()


class SuggestionSchema(Schema):
    sku = fields.String()
    warehouse = fields.String()
    supplier = fields.String()
    unit_price = Price()
    position = Quantity()
    daily_demand = StrictDecimal(3)
    demand_spread = StrictDecimal(3)
    lead_time = fields.Nested(LeadTimeSchema)
    service_factor = StrictDecimal(6)
    safety_stock = Quantity()
    reorder_point = Quantity()
    order_up_to = Quantity()
    quantity = Quantity()
    explanation = fields.String()


class RouteSchema(Schema):
    warehouse = fields.String(required=True)
    source = fields.String(required=True)
    transfer_days = fields.Integer(load_default=2, validate=validate.Range(min=0, max=365))


class ProposedTransferSchema(Schema):
    sku = fields.String()
    source = fields.String()
    warehouse = fields.String()
    demand = StrictDecimal(3)
    target = Quantity()
    position = Quantity()
    need = Quantity()
    quantity = Quantity()


class BranchPlanSchema(Schema):
    central = fields.String()
    transfers = fields.List(fields.Nested(ProposedTransferSchema))
    purchases = fields.List(fields.Nested(SuggestionSchema))


class PlanQuery(Schema):
    central = fields.String(required=True)


class TransferSchema(Schema):
    id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    source = fields.String(attribute="source.code")
    warehouse = fields.String(attribute="warehouse.code")
    quantity = Quantity()
    status = fields.String()
    expected_on = fields.Date()
    arrived_at = fields.DateTime()
    reference = fields.String()


class NewTransferSchema(Schema):
    sku = fields.String(required=True)
    source = fields.String(required=True)
    warehouse = fields.String(required=True)
    quantity = Quantity(required=True, validate=validate.Range(min=0, min_inclusive=False))


# -- the listings: keyset pages ``{"items": [...], "next": ...}``, no counts ---------------


class SupplierQuery(Schema):
    limit = PageSize()
    after = fields.String(validate=validate.Length(max=32), metadata={
        "description": "The `next` of the previous page: suppliers whose code sorts after it."})


class SuggestionQuery(Schema):
    limit = PageSize(metadata={"description": "At most this many products (1 to 500): a "
                                              "page holds their suggestions."})
    after = fields.String(validate=validate.Length(max=64), metadata={
        "description": "The `next` of the previous page: products whose SKU sorts after it."})


class NewestFirstQuery(Schema):
    limit = PageSize()
    before = Cursor(metadata={"description": "The `next` of the previous page: rows older "
                                             "than this id."})


class ReceiptQuery(Schema):
    limit = PageSize()
    after = Cursor(metadata={"description": "The `next` of the previous page: receipts "
                                            "after this id."})


_NEWER = "Pass as `before` for the next page; null on the last page."
SupplierPageSchema = page_schema("SupplierPageSchema", SupplierSchema)
SuggestionPageSchema = page_schema("SuggestionPageSchema", SuggestionSchema)
PurchaseOrderPageSchema = page_schema("PurchaseOrderPageSchema", PurchaseOrderSchema,
                                      fields.Integer, _NEWER)
ReceiptPageSchema = page_schema("ReceiptPageSchema", ReceiptSchema, fields.Integer)
TransferPageSchema = page_schema("TransferPageSchema", TransferSchema, fields.Integer, _NEWER)


class SpendQuery(Schema):
    first = Day(required=True)
    last = Day(required=True, metadata={
        "description": "At most core.max_report_days days after first."})
    supplier = fields.String(load_default=None)
    by = fields.String(load_default="month", validate=validate.OneOf(("month", "quarter",
                                                                       "year")),
                       metadata={"description": "The length of a period."})

    @validates_schema
    def _bounded(self, data: dict[str, Any], **_kw: Any) -> None:
        # The work grows with the period: bounded like every report (a 422 naming "last").
        if data["last"] >= data["first"]:
            check_period(data["first"], data["last"],
                         get_value(db.session, "core.max_report_days"), field="last")


class SpendSchema(Schema):
    supplier = fields.String()
    period = fields.String()
    amount = Amount()
    receipts = fields.Integer()


# -- figures and the policy simulation (reporting) ------------------------------------------


class FiguresQuery(Schema):
    first = Day(required=True, metadata={"description": "First day."})
    last = Day(required=True, metadata={"description": "Last day (at most "
                                        "core.max_report_days after first)."})
    sku = fields.String(load_default=None)
    warehouse = fields.String(load_default=None, metadata={"description": "One warehouse's "
                                                           "code; all when left out."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500),
                           metadata={"description": "At most this many products."})
    after = fields.String(load_default=None, metadata={
        "description": "Only products whose SKU sorts after this one (the last SKU of the "
                       "previous page)."})


class StockFiguresSchema(Schema):
    sku = fields.String()
    name = fields.String()
    first = fields.Date()
    last = fields.Date()
    unit_cost = Price(allow_none=True)
    shipped = Quantity()
    returned = Quantity()
    average_on_hand = Quantity()
    on_hand_at_end = Quantity()
    average_value = Amount(allow_none=True)
    value_at_end = Amount(allow_none=True)
    turnover = fields.Decimal(places=2, as_string=True, allow_none=True)
    days_of_cover = fields.Decimal(places=1, as_string=True, allow_none=True)
    stockout_days = fields.Integer()
    stockouts = fields.Integer()


class SimulationQuery(Schema):
    first = fields.Date(required=True)
    last = fields.Date(required=True)
    sku = fields.String(load_default=None)
    warehouse = fields.String(load_default=None)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100),
                           metadata={"description": "At most this many products."})
    service_level = fields.Decimal(load_default=None, validate=validate.Range(
        min=Decimal("0.5"), max=Decimal("0.9999")), metadata={"description": "New service "
                                                              "level (0.5 to 0.9999)."})
    review_period_days = fields.Integer(load_default=None, validate=validate.Range(
        min=1, max=90), metadata={"description": "Review every so many days (1: daily)."})
    demand_window_days = fields.Integer(load_default=None, validate=validate.Range(
        min=2, max=365), metadata={"description": "Days of demand the mean and spread "
                                   "are taken over."})
    lead_time_days = fields.Decimal(load_default=None, validate=validate.Range(
        min=0, max=365), metadata={"description": "Lead time to plan and deliver with."})
    lead_time_spread = fields.Decimal(load_default=None, validate=validate.Range(
        min=0, max=365), metadata={"description": "Lead-time standard deviation (days)."})
    cycle_days = fields.Decimal(load_default=None, validate=validate.Range(
        min=0, max=365), metadata={"description": "Order this many days of mean demand on "
                                   "top of the reorder point (instead of the rule's cycle "
                                   "stock)."})


class PolicySchema(Schema):
    service_level = fields.Decimal(places=4, as_string=True)
    review_period_days = fields.Integer()
    demand_window_days = fields.Integer()
    lead_time_days = fields.Decimal(places=2, as_string=True)
    lead_time_spread = fields.Decimal(places=2, as_string=True)
    cycle_stock = Quantity()
    cycle_days = fields.Decimal(places=2, as_string=True, allow_none=True)
    pack_size = Quantity()
    min_order_quantity = Quantity()


class OutcomeSchema(Schema):
    policy = fields.Nested(PolicySchema)
    average_on_hand = Quantity()
    average_value = Amount(allow_none=True)
    ending_on_hand = Quantity()
    stockout_days = fields.Integer()
    demand = Quantity()
    served = Quantity()
    lost = Quantity()
    fill_rate = fields.Decimal(places=4, as_string=True, allow_none=True)
    orders = fields.Integer()
    ordered = Quantity()


class ActualSchema(Schema):
    average_on_hand = Quantity()
    average_value = Amount(allow_none=True)
    stockout_days = fields.Integer()


class ProductSimulationSchema(Schema):
    sku = fields.String()
    warehouse = fields.String(allow_none=True)
    unit_cost = Price()
    opening_on_hand = Quantity()
    actual = fields.Nested(ActualSchema)
    before = fields.Nested(OutcomeSchema)
    after = fields.Nested(OutcomeSchema)


class SimulationSchema(Schema):
    first = fields.Date()
    last = fields.Date()
    products = fields.List(fields.Nested(ProductSimulationSchema))
    before_value = Amount()
    after_value = Amount()
    change_percent = fields.Decimal(places=1, as_string=True, allow_none=True)

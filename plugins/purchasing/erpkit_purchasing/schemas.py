"""Request and response schemas of ``/api/purchasing``: quantities are decimal strings
with three places, prices with four, money with two."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from erpkit.schemas import Identifier


def Quantity(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(places=3, as_string=True, **kwargs)


def Price(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(places=4, as_string=True, **kwargs)


def Amount(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(places=2, as_string=True, **kwargs)


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
    lead_time_days = fields.Decimal(places=2, as_string=True)
    ledger_entry_id = fields.Integer()


class LeadTimeSchema(Schema):
    mean = fields.Decimal(places=2, as_string=True)
    spread = fields.Decimal(places=2, as_string=True)
    samples = fields.Integer()
    measured = fields.Boolean()
    quoted = fields.Integer()


class SuggestionSchema(Schema):
    sku = fields.String()
    warehouse = fields.String()
    supplier = fields.String()
    unit_price = Price()
    position = Quantity()
    daily_demand = fields.Decimal(places=3, as_string=True)
    demand_spread = fields.Decimal(places=3, as_string=True)
    lead_time = fields.Nested(LeadTimeSchema)
    service_factor = fields.Decimal(places=6, as_string=True)
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
    demand = fields.Decimal(places=3, as_string=True)
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


class SpendQuery(Schema):
    first = fields.Date(required=True)
    last = fields.Date(required=True)
    supplier = fields.String(load_default=None)


class SpendSchema(Schema):
    supplier = fields.String()
    period = fields.String()
    amount = Amount()
    receipts = fields.Integer()

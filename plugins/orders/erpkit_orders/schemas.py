"""The JSON shapes of the orders API: what clients send and what they get back.

Money, prices and quantities travel as strings (``"12.50"``) so no client turns them
into binary floats. Input schemas only type the input; the business rules (known
product, quantity limits, known customer and channel) are checked by the intake, so the
API, the CSV import and the demo refuse the same things with the same messages.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from erpkit.schemas import Cursor, Day, Identifier, Price, Quantity
from erpkit_orders.lifecycle import Status

STATUSES = [str(s) for s in Status]
MAX_PAGE = 200


#: Larger amounts and quantities than any order has; beyond them the columns overflow.
LIMIT = 10**12  # an int: OpenAPI renders a Decimal bound as a string, an invalid schema


def money(**kwargs: Any) -> fields.Decimal:
    """A decimal amount that reads from and writes to a JSON string."""
    return fields.Decimal(as_string=True, allow_nan=False, **kwargs)


POSITIVE = validate.Range(min=0, max=LIMIT, min_inclusive=False)
SIGNED = validate.Range(min=-LIMIT, max=LIMIT)
#: The most lines any order may have, whatever the parameter ``orders.max_lines_per_order``
#: says: the schema stops reading there.
MAX_LINES_CEILING = 10_000
#: The longest note the schema reads; ``orders.max_note_length`` may set a lower limit.
MAX_NOTE_CEILING = 100_000


class _Strict(Schema):
    class Meta:
        ordered = True


# --- catalogue ---------------------------------------------------------------------------


class ProductSchema(_Strict):
    id = fields.Integer(dump_only=True)
    sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    unit_price = Price(required=True, validate=validate.Range(min=0, max=LIMIT))
    category = fields.String(load_default="general", validate=validate.Length(min=1, max=80))
    active = fields.Boolean(load_default=True)
    unit = fields.String(load_default="unit", validate=validate.Length(min=1, max=16))
    min_quantity = Quantity(load_default=None, validate=POSITIVE)
    max_quantity = Quantity(load_default=None, allow_none=True, validate=POSITIVE)
    pack_size = Quantity(load_default=None, validate=POSITIVE)
    supplier = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=120))
    reorder_level = Quantity(load_default=None, allow_none=True,
                             validate=validate.Range(min=0, max=LIMIT))
    created_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _limits_in_order(self, data: dict[str, Any], **_kw: Any) -> None:
        low, high = data.get("min_quantity"), data.get("max_quantity")
        if low is not None and high is not None and high < low:
            raise ValidationError("must not be below min_quantity", "max_quantity")


class ProductUpdateSchema(_Strict):
    """Only the fields sent change; ``active: false`` takes the product off sale."""

    sku = fields.String(validate=validate.Length(min=1, max=64))
    name = fields.String(validate=validate.Length(min=1, max=200))
    unit_price = Price(validate=validate.Range(min=0, max=LIMIT))
    category = fields.String(validate=validate.Length(min=1, max=80))
    active = fields.Boolean()
    unit = fields.String(validate=validate.Length(min=1, max=16))
    min_quantity = Quantity(validate=POSITIVE)
    max_quantity = Quantity(allow_none=True, validate=POSITIVE)
    pack_size = Quantity(validate=POSITIVE)
    supplier = fields.String(allow_none=True, validate=validate.Length(max=120))
    reorder_level = Quantity(allow_none=True, validate=validate.Range(min=0, max=LIMIT))


class AddressSchema(_Strict):
    id = fields.Integer(dump_only=True)
    kind = fields.String(load_default="shipping",
                         validate=validate.OneOf(["shipping", "billing"]))
    line1 = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    postcode = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=20))
    country = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Z]{2}$", error="use a 2-letter ISO 3166 country code"))


class Country(fields.String):
    """A country as an ISO 3166 code or an English name (``UK``, ``Germany``), loaded as
    its alpha-2 code."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        from erpkit_orders.countries import UnknownCountry, country_code

        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return country_code(text)
        except UnknownCountry as exc:
            raise ValidationError(str(exc)) from None


class CustomerSchema(_Strict):
    id = fields.Integer(dump_only=True)
    code = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(min=1, max=64),
                         metadata={"description": "The customer's key in an earlier system."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    region = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    country = Country(load_default=None, allow_none=True, validate=validate.Length(max=100),
                      metadata={"description": "ISO 3166 code or English name; kept as "
                                               "the alpha-2 code."})
    city = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    postal_code = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=20))
    address = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(max=300))
    active = fields.Boolean(load_default=True,
                            metadata={"description": "An inactive customer takes no new orders."})
    addresses = fields.List(fields.Nested(AddressSchema), load_default=list)
    created_at = fields.DateTime(dump_only=True)


class CustomerUpdateSchema(_Strict):
    """Only the fields sent change."""

    code = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    region = fields.String(allow_none=True, validate=validate.Length(max=80))
    country = Country(allow_none=True, validate=validate.Length(max=100))
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=20))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    active = fields.Boolean()


class CatalogueQuerySchema(_Strict):
    after = Cursor(
                           metadata={"description": "The `next` cursor of the previous page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class ProductQuerySchema(CatalogueQuerySchema):
    category = fields.String()
    active = fields.Boolean()
    sku = fields.String()
    q = fields.String(validate=validate.Length(min=1, max=64),
                      metadata={"description": "Part of the SKU or the name (any case)."})


class CustomerQuerySchema(CatalogueQuerySchema):
    active = fields.Boolean()
    email = fields.String()
    country = fields.String()
    code = fields.String()


class ProductPageSchema(_Strict):
    items = fields.List(fields.Nested(ProductSchema))
    next = fields.String(allow_none=True)


class CustomerPageSchema(_Strict):
    items = fields.List(fields.Nested(CustomerSchema))
    next = fields.String(allow_none=True)


# --- orders in ---------------------------------------------------------------------------


class OrderLineInSchema(_Strict):
    sku = fields.String(validate=validate.Length(min=1, max=64))
    product_id = Identifier()
    quantity = Quantity(required=True, validate=SIGNED)
    unit_price = Price(load_default=None, allow_none=True, validate=SIGNED,
                       metadata={"description": "Defaults to the product's price."})
    discount_percent = Price(load_default=None, allow_none=True, validate=SIGNED)

    @validates_schema
    def _names_a_product(self, data: dict[str, Any], **_kw: Any) -> None:
        if not data.get("sku") and data.get("product_id") is None:
            raise ValidationError("give the product's sku or product_id", "sku")


class _DeliveryFields(_Strict):
    """How the order ships, when sent (the columns imported history fills too): the
    carrier service (``CARRIER/service`` with logistics) and the ship-to address, when
    it is not the customer's."""

    carrier = fields.String(allow_none=True, validate=validate.Length(max=80))
    ship_to_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    ship_to_address = fields.String(allow_none=True, validate=validate.Length(max=300))
    ship_to_city = fields.String(allow_none=True, validate=validate.Length(max=100))
    ship_to_postal_code = fields.String(allow_none=True, validate=validate.Length(max=20))
    ship_to_region = fields.String(allow_none=True, validate=validate.Length(max=80))
    ship_to_country = fields.String(allow_none=True, validate=validate.Regexp(
        r"^[A-Z]{2}$", error="use a 2-letter ISO 3166 code"))


class OrderCreateSchema(_DeliveryFields):
    customer_id = Identifier(required=True)
    channel = fields.String(load_default="api", validate=validate.Length(min=1, max=32))
    currency = fields.String(validate=validate.Regexp(
        r"^[A-Z]{3}$", error="use a 3-letter ISO 4217 code"))
    requested_date = Day(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(max=MAX_NOTE_CEILING))
    external_ref = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(max=80))
    lines = fields.List(fields.Nested(OrderLineInSchema), required=True,
                        validate=validate.Length(max=MAX_LINES_CEILING))


class OrderUpdateSchema(_DeliveryFields):
    """Only the fields sent change; ``lines``, when sent, replace all the lines."""

    customer_id = Identifier()
    channel = fields.String(validate=validate.Length(min=1, max=32))
    currency = fields.String(validate=validate.Regexp(
        r"^[A-Z]{3}$", error="use a 3-letter ISO 4217 code"))
    requested_date = Day(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=MAX_NOTE_CEILING))
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=80))
    lines = fields.List(fields.Nested(OrderLineInSchema),
                        validate=validate.Length(max=MAX_LINES_CEILING))


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key", validate=validate.Length(min=1, max=80),
        metadata={"description": "Retrying with the same key returns the first order "
                                 "(200) instead of creating another (201)."})


class MoveReasonSchema(_Strict):
    reason = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(max=500))


class ShipmentLineInSchema(_Strict):
    line_id = Identifier(required=True)
    quantity = Quantity(required=True, validate=POSITIVE)


class ShipmentInSchema(_Strict):
    lines = fields.List(fields.Nested(ShipmentLineInSchema), load_default=None,
                        validate=validate.Length(min=1),
                        metadata={"description": "Omit to ship every open quantity."})
    tracking = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=120))

    @validates_schema
    def _each_line_once(self, data: dict[str, Any], **_kw: Any) -> None:
        ids = [line["line_id"] for line in data.get("lines") or ()]
        if len(ids) != len(set(ids)):
            raise ValidationError("name each line once", "lines")


class OrderQuerySchema(_Strict):
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)),
                         metadata={"description": "Repeat to match any of several."})
    channel = fields.String()
    customer_id = Identifier()
    number = fields.String()
    external_ref = fields.String(metadata={
        "description": "The order's number in the system it was imported from."})
    created_from = Day(metadata={"description": "First day included (UTC)."})
    created_to = Day(metadata={"description": "Last day included (UTC)."})
    after = Cursor(
                           metadata={"description": "The `next` cursor of the previous page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


# --- orders out --------------------------------------------------------------------------


class CustomerBriefSchema(_Strict):
    id = fields.Integer()
    name = fields.String()


class OrderLineSchema(_Strict):
    id = fields.Integer()
    line_no = fields.Integer()
    product_id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    name = fields.String(attribute="product.name")
    quantity = money()
    unit_price = money()
    discount_percent = money()
    line_total = money()
    shipped_quantity = money()


class TimelineEventSchema(_Strict):
    id = fields.Integer()
    at = fields.DateTime()
    kind = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    message = fields.String()
    public = fields.Boolean()
    source = fields.String()


class OrderShipmentSchema(_Strict):
    id = fields.Integer()
    shipped_at = fields.DateTime()
    tracking = fields.String(allow_none=True)


class OrderSummarySchema(_Strict):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    channel = fields.String()
    customer = fields.Nested(CustomerBriefSchema)
    currency = fields.String()
    subtotal = money()
    discount_total = money()
    total = money()
    requested_date = fields.Date(allow_none=True)
    promised_date = fields.Date(allow_none=True)
    external_ref = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    status_changed_at = fields.DateTime()
    ordered_at = fields.DateTime()
    shipped_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    shipping_charge = money()
    imported_as_history = fields.Boolean()


class MoveWarningSchema(Schema):
    """A refusal the move survived (say, confirmation refused for want of stock)."""

    code = fields.String(metadata={"description": "confirmation_refused"})
    message = fields.String()
    plugin = fields.String(allow_none=True, metadata={
        "description": "The plugin that refused."})
    refusal_code = fields.String(allow_none=True, metadata={
        "description": "The plugin's own code for the refusal."})
    field = fields.String(allow_none=True)


class HeldMoveSchema(Schema):
    """A move a gate holds: the order stays where it was until the gate's steps pass."""

    code = fields.String(metadata={"description": "held"})
    gate = fields.String(metadata={"description": "confirm, ship, deliver, cancel, return, "
                                                  "reopen"})
    from_status = fields.String()
    to_status = fields.String()
    message = fields.String()
    requests = fields.List(fields.Integer(allow_none=True), metadata={
        "description": "The approval requests the move waits on."})


class OrderSchema(OrderSummarySchema):
    note = fields.String(allow_none=True)
    carrier = fields.String(allow_none=True)
    salesperson = fields.String(allow_none=True)
    ship_to_name = fields.String(allow_none=True)
    ship_to_address = fields.String(allow_none=True)
    ship_to_city = fields.String(allow_none=True)
    ship_to_postal_code = fields.String(allow_none=True)
    ship_to_region = fields.String(allow_none=True)
    ship_to_country = fields.String(allow_none=True)
    submitted_by = fields.String(allow_none=True)
    updated_at = fields.DateTime()
    version = fields.Integer()
    public_token = fields.String(metadata={
        "description": "Give it to the customer: /status/<number>?token=<public_token>."})
    allowed_moves = fields.Method("_allowed_moves", metadata={
        "description": "The statuses the order may move to now.",
        "type": "array", "items": {"type": "string"}})
    lines = fields.List(fields.Nested(OrderLineSchema))
    shipments = fields.List(fields.Nested(OrderShipmentSchema))
    timeline = fields.List(fields.Nested(TimelineEventSchema))
    warnings = fields.List(fields.Nested(lambda: MoveWarningSchema()), metadata={
        "description": "What this call let through but you should know: a confirmation a "
                       "plugin refused inside submit or a last approval (the order stays "
                       "approved). Empty when nothing happened; the timeline keeps it too."})
    held = fields.Nested(HeldMoveSchema, allow_none=True, metadata={
        "description": "Set when the move asked was held at a gate (HTTP 202): the order "
                       "stays in its status until the gate's approval passes."})

    def _allowed_moves(self, order: Any) -> list[str]:
        from erpkit.db import db
        from erpkit_orders.lifecycle import allowed_moves

        return sorted(allowed_moves(db.session, order))


class OrderPageSchema(_Strict):
    items = fields.List(fields.Nested(OrderSummarySchema))
    next = fields.String(allow_none=True, metadata={
        "description": "Pass as `after` for the next page; null on the last page."})


# --- import and public status -----------------------------------------------------------


class ImportOptionsSchema(_Strict):
    """How to read an uploaded file (query parameters of the import endpoints)."""

    encoding = fields.String(load_default="utf-8-sig", validate=validate.Length(max=40),
                             metadata={"description": "utf-8, utf-8-sig, cp1252, latin-1..."})
    decimal_comma = fields.Boolean(load_default=False)
    date_format = fields.String(load_default=None, validate=validate.Length(max=40),
                                metadata={"description": "strptime format, e.g. %d/%m/%Y"})
    delimiter = fields.String(load_default=None, validate=validate.Length(equal=1))


class ImportRunSchema(_Strict):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    rows_done = fields.Integer()
    rows_refused = fields.Integer()
    created_by = fields.String(allow_none=True)
    created_at = fields.String()
    report = fields.Dict(metadata={"description": "Counts, refused rows (row, key, field, "
                                                  "message) and changes so far."})
    job = fields.Dict(allow_none=True, metadata={
        "description": "The background job: id, status, attempts, last_error."})


class PublicEventSchema(_Strict):
    at = fields.DateTime()
    status = fields.String(allow_none=True)
    message = fields.String()


class PublicStatusSchema(_Strict):
    number = fields.String()
    status = fields.String()
    status_label = fields.String()
    created = fields.DateTime()
    requested_date = fields.Date(allow_none=True)
    promised_date = fields.Date(allow_none=True)
    timeline = fields.List(fields.Nested(PublicEventSchema))
    tracking = fields.List(fields.String())


class PublicStatusQuerySchema(Schema):
    token = fields.String(load_default="", validate=validate.Length(max=200))

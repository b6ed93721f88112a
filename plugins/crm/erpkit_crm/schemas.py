"""What the crm API takes and gives. Money travels as decimal strings (``"12.50"``), read
strictly (:class:`erpkit.schemas.StrictDecimal`: ASCII digits, at most two places).

Every listing is a page, ``{"items": [...], "next": cursor}``, ``next`` passed back as
``after`` for the next one; no counts.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from erpkit.schemas import MAX_ID, Amount, Identifier, PageSize, page_schema
from erpkit_crm.models import ADDRESS_KINDS, INTERACTION_KINDS


def Money(**kwargs: Any) -> fields.Decimal:
    """Money out and in: two places, as the ``Numeric(18, 2)`` columns and the cents."""
    return Amount(**kwargs)


class ContactSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class NoteSchema(Schema):
    id = fields.Integer(dump_only=True)
    at = fields.DateTime(dump_only=True)
    author = fields.String(dump_only=True, allow_none=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class InteractionSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(INTERACTION_KINDS))
    at = fields.AwareDateTime(load_default=None, allow_none=True,
                              metadata={"description": "When; now when left out."})
    actor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120),
                          metadata={"description": "Who had the contact; you when left out."})
    summary = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class DefaultAddressSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(ADDRESS_KINDS))
    address_id = Identifier(required=True)


class ProfileUpdateSchema(Schema):
    group = fields.String(allow_none=True, metadata={"description": "A group's code; null "
                                                     "for none."})
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=60)))
    preferences = fields.Dict(keys=fields.String(), metadata={
        "description": "Values of the attributes of crm.preference_attributes; null "
                       "removes one."})


class PreferenceSchema(Schema):
    name = fields.String()
    label = fields.String()
    type = fields.String()
    value = fields.Raw(allow_none=True)


class CreditSchema(Schema):
    limit = Money(allow_none=True)
    limit_source = fields.String(metadata={"description": "customer, group, default or none"})
    open_orders = Money()
    open_balance = Money()
    exposure = Money()
    available = Money(allow_none=True)


class CreditLimitSchema(Schema):
    credit_limit = Money(required=True, allow_none=True, validate=validate.Range(min=0),
                         metadata={"description": "null: the group's or the default"})


class OpenBalanceSchema(Schema):
    open_balance = Money(required=True, validate=validate.Range(min=0))


class OverrideSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ScoreSchema(Schema):
    as_of = fields.Date()
    segment = fields.String(allow_none=True)
    rfm_score = fields.Integer()
    r_score = fields.Integer()
    f_score = fields.Integer()
    m_score = fields.Integer()
    recency_days = fields.Integer()
    order_count = fields.Integer()
    lifetime_revenue = Money()
    clv = Money()


class SummarySchema(Schema):
    order_count = fields.Integer()
    lifetime_revenue = Money()
    average_order_value = Money()
    first_order_at = fields.DateTime(allow_none=True)
    last_order_at = fields.DateTime(allow_none=True)


class OrderBriefSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    ordered_at = fields.DateTime()
    total = Money()
    currency = fields.String()


class BoughtSchema(Schema):
    sku = fields.String()
    name = fields.String()
    orders = fields.Integer()
    quantity = fields.Decimal(places=3, as_string=True)  # out only
    last_on = fields.Date()


class DueProductSchema(Schema):
    sku = fields.String()
    name = fields.String()
    interval_days = fields.Integer()
    last_on = fields.Date()
    due_on = fields.Date()
    usual_quantity = fields.Decimal(places=3, as_string=True)  # out only


class DueCursor(fields.String):
    """The ``next`` of a page of suggestions: ``<due day>/<sku>`` of its last one, parsed
    to ``(day, sku)``."""

    default_error_messages = {"cursor": "not a cursor of this list: pass the `next` of "
                                        "the previous page"}

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        day, _, sku = text.partition("/")
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day, re.ASCII) or not sku \
                or len(sku) > 64:
            raise self.make_error("cursor")
        try:
            return date.fromisoformat(day), sku
        except ValueError:
            raise self.make_error("cursor") from None


class SuggestionQuery(Schema):
    limit = PageSize()
    after = DueCursor(metadata={"description": "The `next` of the previous page."})


DuePageSchema = page_schema("DuePageSchema", DueProductSchema)


class HistorySchema(Schema):
    summary = fields.Nested(SummarySchema)
    orders = fields.List(fields.Nested(OrderBriefSchema))
    frequent_products = fields.List(fields.Nested(BoughtSchema))
    suggestions = fields.List(fields.Nested(DueProductSchema))


class ProfileSchema(Schema):
    customer_id = fields.Integer()
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    preferences = fields.List(fields.Nested(PreferenceSchema))
    contacts = fields.List(fields.Nested(ContactSchema))
    addresses = fields.List(fields.Dict())
    notes = fields.List(fields.Nested(NoteSchema))
    interactions = fields.List(fields.Nested(InteractionSchema))
    credit = fields.Nested(CreditSchema)
    score = fields.Nested(ScoreSchema, allow_none=True)
    suggestions = fields.List(fields.Nested(DueProductSchema))
    erased_at = fields.DateTime(allow_none=True)


class CustomerCursor(fields.String):
    """The ``next`` of a customer page: ``<revenue in cents>:<customer id>`` or
    ``unscored:<customer id>`` (see :func:`erpkit_crm.views.customer_page`), parsed to
    ``(cents or None, id)``."""

    _FORM = re.compile(r"(-?[0-9]{1,18}|unscored):([0-9]{1,10})", re.ASCII)
    default_error_messages = {"cursor": "not a cursor of this list: pass the `next` of "
                                        "the previous page"}

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        found = self._FORM.fullmatch(text)
        if found is None or int(found.group(2)) > MAX_ID:
            raise self.make_error("cursor")
        cents = None if found.group(1) == "unscored" else int(found.group(1))
        return cents, int(found.group(2))


class CustomerListQuery(Schema):
    segment = fields.String(validate=validate.Length(max=40))
    group = fields.String(validate=validate.Length(max=40))
    tag = fields.String(validate=validate.Length(max=60))
    limit = PageSize()
    after = CustomerCursor(metadata={"description": "The `next` of the previous page."})


class CustomerRowSchema(Schema):
    customer_id = fields.Integer()
    name = fields.String()
    group = fields.String(allow_none=True)
    segment = fields.String(allow_none=True)
    rfm_score = fields.Integer(allow_none=True)
    lifetime_revenue = Money()


CustomerPageSchema = page_schema("CustomerPageSchema", CustomerRowSchema)


class GroupSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_-]{1,40}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    credit_limit = Money(load_default=None, allow_none=True, validate=validate.Range(min=0))


class GroupQuery(Schema):
    limit = PageSize()
    after = fields.String(validate=validate.Length(max=40), metadata={
        "description": "The `next` of the previous page: groups whose code sorts after it."})


GroupPageSchema = page_schema("GroupPageSchema", GroupSchema)


def Score(**kwargs: Any) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=5), **kwargs)


class SegmentRuleSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    r_min = Score(load_default=1)
    r_max = Score(load_default=5)
    f_min = Score(load_default=1)
    f_max = Score(load_default=5)
    m_min = Score(load_default=1)
    m_max = Score(load_default=5)


class SegmentQuery(Schema):
    limit = PageSize()
    after = fields.Integer(validate=validate.Range(min=0, max=MAX_ID), metadata={
        "description": "The `next` of the previous page: the rows after this one (the "
                       "table's rows are numbered from 1, first match first)."})


SegmentPageSchema = page_schema("SegmentPageSchema", SegmentRuleSchema, fields.Integer)


class SegmentTableSchema(Schema):
    rows = fields.List(fields.Nested(SegmentRuleSchema), required=True,
                       validate=validate.Length(min=1, max=50))

    @validates_schema
    def _names_are_unique(self, data: dict[str, Any], **_kw: Any) -> None:
        seen: set[str] = set()
        for index, row in enumerate(data.get("rows") or ()):
            if row["name"] in seen:
                raise ValidationError({"rows": {index: {"name": [
                    f"segment {row['name']!r} is named twice; each segment once"]}}})
            seen.add(row["name"])


class RecomputeSchema(Schema):
    as_of = fields.Date(load_default=None, allow_none=True)


class RecomputeResultSchema(Schema):
    customers = fields.Integer()
    as_of = fields.Date()
    seconds = fields.Float()


class ReorderResultSchema(Schema):
    order_id = fields.Integer()
    number = fields.String()
    total = Money()
    changes = fields.List(fields.String())

"""JSON endpoints under ``/api/inventory``.

Reading needs ``inventory.view``; booking receipts, adjustments and transfers and setting
replenishment rules needs ``inventory.adjust``. Quantities are decimal strings with three
places (``"10.000"``). Every write is one transaction, run again on a database conflict,
so a client never sees a deadlock.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify
from marshmallow import Schema, fields, validate

from erpkit.api import Blueprint
from erpkit.auth import permission_required, require_user
from erpkit.db import db
from erpkit.schemas import (
    Cursor,
    Day,
    Identifier,
    PageSize,
    Quantity,
    one_page,
    page_schema,
    report_period,
)
from erpkit.transitions import run_atomic
from erpkit_inventory import availability, figures, ledger, replenishment, stock
from erpkit_inventory.alerts import open_alerts
from erpkit_inventory.models import LEDGER_KINDS, Warehouse

# Every listing here is a page: ``{"items": [...], "next": ...}``, ``next`` passed back as
# ``after`` (or ``before``) for the next one; no counts, so a page costs the same work
# however many rows there are.

VIEW = "inventory.view"
ADJUST = "inventory.adjust"


class WarehouseStockSchema(Schema):
    warehouse = fields.String()
    on_hand = Quantity()
    reserved = Quantity()
    available = Quantity()


class AvailabilitySchema(Schema):
    sku = fields.String()
    name = fields.String()
    on_hand = Quantity(metadata={"description": "On hand in the warehouses listed."})
    reserved = Quantity()
    available = Quantity(metadata={"description": "On hand - reserved: what can be promised."})
    backordered = Quantity(metadata={"description": "Owed to confirmed orders, not in stock."})
    expected = Quantity(metadata={"description": "Ordered from suppliers, not received yet."})
    warehouses = fields.List(fields.Nested(WarehouseStockSchema))


class AvailabilityQuery(Schema):
    sku = fields.String(metadata={"description": "One product; all when left out."})
    warehouse = fields.String(metadata={"description": "One warehouse's code; all open ones "
                                        "when left out."})
    limit = PageSize()
    after = fields.String(validate=validate.Length(max=64), metadata={
        "description": "The `next` of the previous page: products whose SKU sorts after it."})


AvailabilityPageSchema = page_schema("AvailabilityPageSchema", AvailabilitySchema)

_QUANTITY = Quantity()


def availability_json(row: availability.ProductAvailability) -> dict[str, Any]:
    """What :class:`AvailabilitySchema` dumps for ``row``, built directly.

    A page of 500 products took 24 ms in marshmallow's dump, two thirds of the request
    (bench/availability.py). The schema stays the documented shape; a test holds this
    function to the schema's dump.
    """
    text = _QUANTITY.text
    warehouses = [{"warehouse": w.warehouse, "on_hand": text(w.on_hand),
                   "reserved": text(w.reserved), "available": text(w.available)}
                  for w in row.warehouses]
    on_hand, reserved = row.on_hand, row.reserved
    return {"sku": row.sku, "name": row.name, "on_hand": text(on_hand),
            "reserved": text(reserved), "available": text(on_hand - reserved),
            "backordered": text(row.backordered), "expected": text(row.expected),
            "warehouses": warehouses}


class StockLevelSchema(Schema):
    sku = fields.String(attribute="product.sku")
    warehouse = fields.String(attribute="warehouse.code")
    on_hand = Quantity()
    reserved = Quantity()
    available = Quantity()
    updated_at = fields.DateTime()


class StockQuery(Schema):
    sku = fields.String()
    warehouse = fields.String()
    limit = PageSize()
    after = Cursor(metadata={"description": "The `next` of the previous page."})


StockPageSchema = page_schema("StockPageSchema", StockLevelSchema, fields.Integer)


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    kind = fields.String()
    sku = fields.String(attribute="product.sku")
    warehouse = fields.String(attribute="warehouse.code")
    on_hand_change = Quantity()
    reserved_change = Quantity()
    actor = fields.String(allow_none=True)
    reason = fields.String()
    order_id = fields.Integer(allow_none=True)
    order_line_id = fields.Integer(allow_none=True)
    reference = fields.String(allow_none=True)


class LedgerQuery(Schema):
    sku = fields.String()
    warehouse = fields.String()
    kind = fields.String(validate=validate.OneOf(LEDGER_KINDS))
    order_id = Identifier()
    before = Cursor(metadata={"description": "The ``next`` cursor of the previous "
                                      "page: entries older than this id."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class LedgerPageSchema(Schema):
    items = fields.List(fields.Nested(LedgerEntrySchema))
    next = fields.Integer(allow_none=True, metadata={"description": "Pass as ``before`` for "
                                                     "the next page; null on the last page."})


class ReceiptSchema(Schema):
    sku = fields.String(required=True)
    warehouse = fields.String(required=True)
    quantity = Quantity(required=True, validate=validate.Range(min=0, min_inclusive=False))
    reason = fields.String(load_default="goods received", validate=validate.Length(max=500))
    reference = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(max=80))


class AdjustmentSchema(Schema):
    sku = fields.String(required=True)
    warehouse = fields.String(required=True)
    quantity = Quantity(required=True, metadata={
        "description": "Signed change of on hand: negative removes stock."})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class TransferSchema(Schema):
    sku = fields.String(required=True)
    from_warehouse = fields.String(required=True)
    to_warehouse = fields.String(required=True)
    quantity = Quantity(required=True, validate=validate.Range(min=0, min_inclusive=False))
    reason = fields.String(load_default="transfer", validate=validate.Length(max=400))


class WarehouseSchema(Schema):
    code = fields.String()
    name = fields.String()
    active = fields.Boolean()


class WarehouseQuery(Schema):
    limit = PageSize()
    after = fields.String(validate=validate.Length(max=32), metadata={
        "description": "The `next` of the previous page: warehouses whose code sorts after it."})


WarehousePageSchema = page_schema("WarehousePageSchema", WarehouseSchema)


class WarehouseInSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", error="1 to 32 letters, digits, . _ or -"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    active = fields.Boolean(load_default=True)


class WarehouseChangeSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    active = fields.Boolean(metadata={"description": "false closes the warehouse."})


class AlertSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    sku = fields.String(attribute="product.sku")
    warehouse = fields.String(attribute="warehouse.code", allow_none=True)
    available = Quantity()
    reorder_point = Quantity()


class AlertQuery(Schema):
    limit = PageSize()
    before = Cursor(metadata={"description": "The `next` of the previous page: alerts older "
                                             "than this id."})


AlertPageSchema = page_schema("AlertPageSchema", AlertSchema, fields.Integer,
                              "Pass as `before` for the next page; null on the last page.")


class RuleSchema(Schema):
    sku = fields.String(required=True)
    warehouse = fields.String(load_default=None, allow_none=True, metadata={
        "description": "A warehouse's code; null for a rule over all open warehouses."})
    reorder_point = Quantity(required=True, validate=validate.Range(min=0))
    order_up_to = Quantity(required=True, validate=validate.Range(min=0))
    lead_time_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))


class SuggestionSchema(Schema):
    sku = fields.String()
    warehouse = fields.String(allow_none=True)
    on_hand = Quantity()
    reserved = Quantity()
    backordered = Quantity()
    position = Quantity()
    reorder_point = Quantity()
    order_up_to = Quantity()
    lead_time_days = fields.Integer()
    daily_demand = fields.Decimal(places=2, as_string=True)
    order_on = fields.Date()
    arrives_on = fields.Date()
    quantity = Quantity()
    explanation = fields.String()


class ReplenishmentQuery(Schema):
    limit = PageSize(metadata={"description": "At most this many rules are looked at "
                                              "(1 to 500)."})
    after = Cursor(metadata={"description": "The `next` of the previous page: rules after "
                                            "this rule id."})


#: The suggestions of a page of rules, soonest first.
SuggestionPageSchema = page_schema("SuggestionPageSchema", SuggestionSchema, fields.Integer)


class FiguresQuery(Schema):
    start = Day(data_key="from", metadata={"description": "First day (default: 30 "
                                                   "days before the last)."})
    end = Day(data_key="to", metadata={"description": "Last day (default: today)."})
    sku = fields.String()
    warehouse = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500),
                           metadata={"description": "At most this many products."})
    after = fields.String(metadata={"description": "Only products whose SKU sorts after "
                                    "this one (the last SKU of the previous page)."})


class FiguresSchema(Schema):
    sku = fields.String()
    name = fields.String()
    first = fields.Date(data_key="from")
    last = fields.Date(data_key="to")
    shipped = Quantity()
    returned = Quantity()
    average_on_hand = Quantity()
    on_hand_at_end = Quantity()
    turnover = fields.Decimal(places=2, as_string=True, allow_none=True)
    days_of_cover = fields.Decimal(places=1, as_string=True, allow_none=True)


def inventory_blueprint() -> Blueprint:
    """A new blueprint each call, so two apps in one process never share one."""
    blp = Blueprint("inventory", __name__, url_prefix="/api/inventory",
                    description="Stock: availability, levels, the ledger, receipts, "
                    "adjustments, transfers, alerts, replenishment and figures.",
                    permission=VIEW)

    @blp.get("/availability")
    @blp.arguments(AvailabilityQuery, location="query")
    @blp.response(200, AvailabilityPageSchema)
    def get_availability(args: dict[str, Any]) -> Any:
        """What can be promised, per product and per open warehouse, in SKU order, a page
        at a time."""
        if args.get("sku"):
            stock.product_by_sku(db.session, args["sku"])
        if args.get("warehouse"):
            stock.warehouse_by_code(db.session, args["warehouse"])
        rows = availability.availability(db.session, sku=args.get("sku"),
                                         warehouse=args.get("warehouse"),
                                         limit=args["limit"] + 1, after=args.get("after"))
        page = one_page(rows, args["limit"], lambda row: row.sku)
        return jsonify({"items": [availability_json(row) for row in page["items"]],
                        "next": page["next"]})

    @blp.get("/stock")
    @blp.arguments(StockQuery, location="query")
    @blp.response(200, StockPageSchema)
    def get_stock(args: dict[str, Any]) -> Any:
        """Stock levels, closed warehouses included, by SKU then warehouse, a page at a
        time."""
        rows = availability.stock_levels(db.session, sku=args.get("sku"),
                                         warehouse=args.get("warehouse"),
                                         limit=args["limit"] + 1, after=args.get("after"))
        return one_page(rows, args["limit"], lambda level: level.id)

    @blp.get("/ledger")
    @blp.arguments(LedgerQuery, location="query")
    @blp.response(200, LedgerPageSchema)
    def get_ledger(args: dict[str, Any]) -> Any:
        """Ledger entries newest first; follow ``next`` for older ones."""
        items, cursor = ledger.ledger_page(db.session, **args)
        return {"items": items, "next": cursor}

    @blp.post("/receipts")
    @permission_required(ADJUST)
    @blp.arguments(ReceiptSchema)
    @blp.response(201, LedgerEntrySchema)
    def post_receipt(body: dict[str, Any]) -> Any:
        """Book goods received into a warehouse."""
        actor = require_user().login

        def book() -> Any:
            return stock.receive(db.session, stock.product_by_sku(db.session, body["sku"]),
                                 stock.warehouse_by_code(db.session, body["warehouse"]),
                                 body["quantity"], actor=actor, reason=body["reason"],
                                 reference=body["reference"])

        return run_atomic(db.session, book)

    @blp.post("/adjustments")
    @permission_required(ADJUST)
    @blp.arguments(AdjustmentSchema)
    @blp.response(201, LedgerEntrySchema)
    def post_adjustment(body: dict[str, Any]) -> Any:
        """Correct on hand by a signed quantity; the reason is required."""
        actor = require_user().login

        def book() -> Any:
            return stock.adjust(db.session, stock.product_by_sku(db.session, body["sku"]),
                                stock.warehouse_by_code(db.session, body["warehouse"]),
                                body["quantity"], actor=actor, reason=body["reason"])

        return run_atomic(db.session, book)

    @blp.post("/transfers")
    @permission_required(ADJUST)
    @blp.arguments(TransferSchema)
    @blp.response(201, LedgerEntrySchema(many=True))
    def post_transfer(body: dict[str, Any]) -> Any:
        """Move available stock between warehouses (two ledger entries)."""
        actor = require_user().login

        def book() -> Any:
            return list(stock.transfer(
                db.session, stock.product_by_sku(db.session, body["sku"]),
                stock.warehouse_by_code(db.session, body["from_warehouse"], "from_warehouse"),
                stock.warehouse_by_code(db.session, body["to_warehouse"], "to_warehouse"),
                body["quantity"], actor=actor, reason=body["reason"]))

        return run_atomic(db.session, book)

    @blp.get("/warehouses")
    @blp.arguments(WarehouseQuery, location="query")
    @blp.response(200, WarehousePageSchema)
    def get_warehouses(args: dict[str, Any]) -> Any:
        """Warehouses, open and closed, by code, a page at a time."""
        query = sa.select(Warehouse).order_by(Warehouse.code).limit(args["limit"] + 1)
        if args.get("after") is not None:
            query = query.where(Warehouse.code > args["after"])
        return one_page(list(db.session.scalars(query)), args["limit"], lambda w: w.code)

    @blp.post("/warehouses")
    @permission_required(ADJUST)
    @blp.arguments(WarehouseInSchema)
    @blp.response(201, WarehouseSchema)
    def post_warehouse(body: dict[str, Any]) -> Any:
        """Open a warehouse (its code must be new)."""
        return stock.create_warehouse(db.session, **body)

    @blp.patch("/warehouses/<code>")
    @permission_required(ADJUST)
    @blp.arguments(WarehouseChangeSchema)
    @blp.response(200, WarehouseSchema)
    def patch_warehouse(body: dict[str, Any], code: str) -> Any:
        """Rename a warehouse, or close it (`{"active": false}`) or open it again."""
        return stock.change_warehouse(db.session, code, body)

    @blp.get("/alerts")
    @blp.arguments(AlertQuery, location="query")
    @blp.response(200, AlertPageSchema)
    def get_alerts(args: dict[str, Any]) -> Any:
        """Open low-stock alerts, newest first, a page at a time."""
        rows = open_alerts(db.session, limit=args["limit"] + 1, before=args.get("before"))
        return one_page(rows, args["limit"], lambda alert: alert.id)

    @blp.put("/rules")
    @permission_required(ADJUST)
    @blp.arguments(RuleSchema)
    @blp.response(200, RuleSchema)
    def put_rule(body: dict[str, Any]) -> Any:
        """Create or change a product's replenishment rule."""

        def save() -> Any:
            product = stock.product_by_sku(db.session, body["sku"])
            warehouse = (stock.warehouse_by_code(db.session, body["warehouse"])
                         if body["warehouse"] else None)
            replenishment.set_rule(db.session, product.id, warehouse.id if warehouse else None,
                                   reorder_point=body["reorder_point"],
                                   order_up_to=body["order_up_to"],
                                   lead_time_days=body["lead_time_days"])
            return body

        return run_atomic(db.session, save)

    @blp.get("/replenishment")
    @blp.arguments(ReplenishmentQuery, location="query")
    @blp.response(200, SuggestionPageSchema)
    def get_replenishment(args: dict[str, Any]) -> Any:
        """What to reorder, how much and when, each explained: the suggestions of a page of
        replenishment rules (in rule id order), soonest first within the page."""
        rules = replenishment.rules_page(db.session, limit=args["limit"] + 1,
                                         after=args.get("after"))
        page = one_page(rules, args["limit"], lambda rule: rule.id)
        return {"items": replenishment.suggestions_of_rules(db.session, page["items"]),
                "next": page["next"]}

    @blp.get("/figures")
    @blp.arguments(FiguresQuery, location="query")
    @blp.response(200, FiguresSchema(many=True))
    def get_figures(args: dict[str, Any]) -> Any:
        """Turnover and days of cover per product for a period (at most
        ``core.max_report_days`` days), a page of products at a time."""
        first, last = report_period(args.get("start"), args.get("end"))
        warehouse = (stock.warehouse_by_code(db.session, args["warehouse"])
                     if args.get("warehouse") else None)
        if args.get("sku"):
            stock.product_by_sku(db.session, args["sku"])
        return figures.figures(db.session, first, last, sku=args.get("sku"),
                               warehouse=warehouse, limit=args["limit"],
                               after=args.get("after"))

    return blp

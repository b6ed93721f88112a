"""The orders JSON API: intake, lifecycle moves, listing, catalogue and customers.

Every view checks its permission on the server before it reads the input: each
blueprint requires ``orders.view`` unless a route names another permission. Refusals
are raised as :class:`erpkit.ValidationFailed` (422) or :class:`erpkit.TransitionRefused`
(409), and the core turns them into ``{"message", "errors": [{field, message, code,
line}]}`` bodies. The blueprints are built per app (see :func:`blueprints`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import request
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import UnsupportedMediaType

from erpkit import ValidationFailed
from erpkit.api import Blueprint
from erpkit.auth import current_user, permission_required, require_user
from erpkit.db import db
from erpkit.transitions import get_or_404
from erpkit_orders import lifecycle
from erpkit_orders.catalogue import create_customer, create_product
from erpkit_orders.importer import ImportReport, import_orders, text_of_binary
from erpkit_orders.intake import create_order, update_order
from erpkit_orders.models import Customer, Order, Product
from erpkit_orders.schemas import (
    CustomerPageSchema,
    CustomerQuerySchema,
    CustomerSchema,
    IdempotencyHeaderSchema,
    ImportReportSchema,
    MoveReasonSchema,
    OrderCreateSchema,
    OrderPageSchema,
    OrderQuerySchema,
    OrderSchema,
    OrderUpdateSchema,
    ProductPageSchema,
    ProductQuerySchema,
    ProductSchema,
    ShipmentInSchema,
)
from erpkit_orders.status_page import status_blueprint

#: Query parameters are checked strictly: a misspelt filter is an error, not ignored.
STRICT = {"unknown": "raise"}
CSV_TYPES = ("text/csv", "application/csv", "text/plain")
IMPORT_BODY_DOC = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}}}},
    "text/csv": {"schema": {"type": "string"}},
}}}


def blueprints() -> list[Blueprint]:
    """Fresh blueprints for one app (an app factory may run several times per process)."""
    return [orders_blueprint(), products_blueprint(), customers_blueprint(), status_blueprint()]


def _order(order_id: int) -> Order:
    return get_or_404(db.session, Order, order_id, what="order", field="order")


def _page(rows: list[Any], limit: int) -> dict[str, Any]:
    """One page of a keyset listing: ``limit`` rows and the cursor of the next page."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": str(rows[-1].id) if more else None}


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def orders_blueprint() -> Blueprint:
    blp = Blueprint("orders", __name__, url_prefix="/api/orders",
                    description="Orders: create, change, move through their lifecycle, list.",
                    permission="orders.view")

    @blp.get("")
    @blp.arguments(OrderQuerySchema, location="query", **STRICT)
    @blp.response(200, OrderPageSchema)
    def list_orders(query: Mapping[str, Any]) -> Any:
        """List orders, newest first, a page at a time (pass `next` as `after`)."""
        limit = query["limit"]
        select = (sa.select(Order).options(lazyload(Order.lines))
                  .order_by(Order.id.desc()).limit(limit + 1))
        if "after" in query:
            select = select.where(Order.id < query["after"])
        if query.get("status"):
            select = select.where(Order.status.in_(query["status"]))
        for name in ("channel", "customer_id", "number"):
            if name in query:
                select = select.where(getattr(Order, name) == query[name])
        if "created_from" in query:
            select = select.where(Order.created_at >= _day_start(query["created_from"]))
        if "created_to" in query:
            select = select.where(
                Order.created_at < _day_start(query["created_to"] + timedelta(days=1)))
        return _page(list(db.session.scalars(select)), limit)

    @blp.post("")
    @permission_required("orders.create")
    @blp.arguments(OrderCreateSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(201, OrderSchema)
    @blp.alt_response(200, schema=OrderSchema, success=True,
                      description="An order created earlier with the same Idempotency-Key.")
    def create(data: Mapping[str, Any], headers: Mapping[str, Any]) -> Any:
        """Create a draft order. Send an `Idempotency-Key` header to retry safely."""
        user = require_user()
        key = headers.get("idempotency_key")
        intake = create_order(db.session, data, actor=user,
                              idempotency_key=f"api:{user.id}:{key}" if key else None)
        return intake.order, 201 if intake.created else 200

    @blp.get("/<int:order_id>")
    @blp.response(200, OrderSchema)
    def fetch(order_id: int) -> Any:
        """One order with its lines, shipments and timeline."""
        return _order(order_id)

    @blp.patch("/<int:order_id>")
    @permission_required("orders.create")
    @blp.arguments(OrderUpdateSchema)
    @blp.response(200, OrderSchema)
    def update(data: Mapping[str, Any], order_id: int) -> Any:
        """Change a draft, or an order waiting for or holding approval (a material change
        asks for approval again). `lines`, when sent, replace every line."""
        if not data:
            raise ValidationFailed.single("_schema", "send at least one field to change",
                                          code="empty")
        return update_order(db.session, _order(order_id), data, actor=current_user())

    def move(name: str, permission: str, action: Any, schema: Any = None,
             doc: str = "") -> None:
        """Register ``POST /<id>/<name>`` running ``action(session, order, actor, body)``."""

        def view(*args: Any, order_id: int) -> Any:
            body = args[0] if args else {}
            return action(db.session, _order(order_id), current_user(), body)

        view.__name__ = name
        view.__doc__ = doc
        decorated = blp.response(200, OrderSchema)(view)
        if schema is not None:
            decorated = blp.arguments(schema)(decorated)
        blp.post(f"/<int:order_id>/{name}")(permission_required(permission)(decorated))

    move("submit", "orders.submit",
         lambda s, o, actor, _b: lifecycle.submit(s, o, actor=actor),
         doc="Submit a draft: validate, then wait for approval or go on to confirmation.")
    move("cancel", "orders.cancel",
         lambda s, o, actor, b: lifecycle.cancel(s, o, actor=actor, reason=b.get("reason")),
         MoveReasonSchema, "Cancel the order (from a status in orders.cancellable_statuses).")
    move("confirm", "orders.confirm",
         lambda s, o, actor, _b: lifecycle.confirm(s, o, actor=actor),
         doc="Confirm an approved order by hand.")
    move("ship", "orders.ship",
         lambda s, o, actor, b: lifecycle.ship(
             s, o, actor=actor, tracking=b.get("tracking"),
             quantities={line["line_id"]: line["quantity"] for line in b["lines"]}
             if b.get("lines") is not None else None),
         ShipmentInSchema, "Record a shipment: the given line quantities, or everything open.")
    move("deliver", "orders.deliver",
         lambda s, o, actor, _b: lifecycle.deliver(s, o, actor=actor),
         doc="Record that the customer received the order.")
    move("close", "orders.deliver",
         lambda s, o, actor, _b: lifecycle.close(s, o, actor=actor),
         doc="Close a delivered or returned order.")
    move("return", "orders.deliver",
         lambda s, o, actor, b: lifecycle.return_order(s, o, actor=actor,
                                                       reason=b.get("reason")),
         MoveReasonSchema, "Record that a delivered order came back.")
    move("reopen", "orders.create",
         lambda s, o, actor, b: lifecycle.reopen(s, o, actor=actor, reason=b.get("reason")),
         MoveReasonSchema, "Put a rejected order back to draft to correct it.")

    @blp.post("/import")
    @permission_required("orders.import")
    @blp.doc(**IMPORT_BODY_DOC)
    @blp.response(200, ImportReportSchema)
    def import_csv() -> Any:
        """Import orders from CSV (multipart field `file`, or a text/csv body).

        One order per `order_number`; an order with a bad row is refused whole, the
        others are created; importing the same file again creates nothing new."""
        report = _import_upload(current_user())
        return _report_body(report)

    return blp


def _import_upload(actor: Any) -> ImportReport:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed.single("file", "send the CSV in the multipart field 'file'",
                                          code="required")
        return import_orders(db.session, text_of_binary(upload.stream), actor=actor)
    if request.mimetype not in CSV_TYPES:
        raise UnsupportedMediaType("send the CSV as multipart/form-data (field 'file') or as "
                                   "a text/csv body")
    # The body can be read once only and the import reads twice: spool it (to disk when big).
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spooled:
        while chunk := request.stream.read(1 << 16):
            spooled.write(chunk)
        return import_orders(db.session, text_of_binary(spooled), actor=actor)


def _report_body(report: ImportReport) -> dict[str, Any]:
    return {"created": report.created, "already_imported": report.already_imported,
            "refused": report.refused, "orders": report.orders, "errors": report.errors}


def _keyset(model: Any, query: Mapping[str, Any], filters: Mapping[str, Any]) -> dict[str, Any]:
    """A page of ``model`` in id order after the cursor, with equality ``filters``."""
    limit = query["limit"]
    select = sa.select(model).order_by(model.id).limit(limit + 1)
    if "after" in query:
        select = select.where(model.id > query["after"])
    for name, column in filters.items():
        if name in query:
            select = select.where(column == query[name])
    return _page(list(db.session.scalars(select)), limit)


def products_blueprint() -> Blueprint:
    blp = Blueprint("orders_products", __name__, url_prefix="/api/products",
                    description="The product catalogue.",
                    permission="orders.view")

    @blp.get("")
    @blp.arguments(ProductQuerySchema, location="query", **STRICT)
    @blp.response(200, ProductPageSchema)
    def list_products(query: Mapping[str, Any]) -> Any:
        """List products in id order, a page at a time (pass `next` as `after`)."""
        return _keyset(Product, query, {"category": Product.category,
                                        "active": Product.active, "sku": Product.sku})

    @blp.post("")
    @permission_required("orders.catalogue")
    @blp.arguments(ProductSchema)
    @blp.response(201, ProductSchema)
    def add_product(data: Mapping[str, Any]) -> Any:
        """Add a product (its SKU must be new)."""
        return create_product(db.session, data)

    @blp.get("/<int:product_id>")
    @blp.response(200, ProductSchema)
    def fetch_product(product_id: int) -> Any:
        return get_or_404(db.session, Product, product_id, what="product", field="product")

    return blp


def customers_blueprint() -> Blueprint:
    blp = Blueprint("orders_customers", __name__, url_prefix="/api/customers",
                    description="Customers and their addresses.",
                    permission="orders.view")

    @blp.get("")
    @blp.arguments(CustomerQuerySchema, location="query", **STRICT)
    @blp.response(200, CustomerPageSchema)
    def list_customers(query: Mapping[str, Any]) -> Any:
        """List customers in id order, a page at a time (pass `next` as `after`)."""
        return _keyset(Customer, query, {"email": Customer.email,
                                         "country": Customer.country})

    @blp.post("")
    @permission_required("orders.catalogue")
    @blp.arguments(CustomerSchema)
    @blp.response(201, CustomerSchema)
    def add_customer(data: Mapping[str, Any]) -> Any:
        """Add a customer with their addresses."""
        return create_customer(db.session, data)

    @blp.get("/<int:customer_id>")
    @blp.response(200, CustomerSchema)
    def fetch_customer(customer_id: int) -> Any:
        return get_or_404(db.session, Customer, customer_id, what="customer",
                          field="customer")

    return blp

"""The orders JSON API: intake, lifecycle moves, listing, catalogue and customers.

Every view checks its permission on the server before it reads the input: each
blueprint requires ``orders.view`` unless a route names another permission. Refusals
are raised as :class:`erpkit.ValidationFailed` (422) or :class:`erpkit.TransitionRefused`
(409), and the core turns them into ``{"message", "errors": [{field, message, code,
line}]}`` bodies. The blueprints are built per app (see :func:`blueprints`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify, request
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import UnsupportedMediaType

from erpkit import ValidationFailed
from erpkit.api import Blueprint
from erpkit.auth import current_user, permission_required, require_user
from erpkit.concurrency import etag, expected_version
from erpkit.db import db, reading_from_here
from erpkit.idempotency import fingerprint
from erpkit.transitions import get_or_404
from erpkit_orders import lifecycle
from erpkit_orders.answer import order_answer
from erpkit_orders.catalogue import create_customer, create_product, update_customer, update_product
from erpkit_orders.csv_reading import CsvOptions
from erpkit_orders.import_report import refused_rows_csv
from erpkit_orders.import_runs import import_in_background, resume_in_background, run_body
from erpkit_orders.intake import create_order, update_order
from erpkit_orders.listing import newest_first
from erpkit_orders.models import Customer, ImportRun, Order, Product
from erpkit_orders.schemas import (
    CustomerPageSchema,
    CustomerQuerySchema,
    CustomerSchema,
    CustomerUpdateSchema,
    IdempotencyHeaderSchema,
    ImportOptionsSchema,
    ImportRunSchema,
    MoveReasonSchema,
    OrderCreateSchema,
    OrderPageSchema,
    OrderQuerySchema,
    OrderSchema,
    OrderUpdateSchema,
    ProductPageSchema,
    ProductQuerySchema,
    ProductSchema,
    ProductUpdateSchema,
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


IF_MATCH = {"in": "header", "name": "If-Match", "required": False,
            "schema": {"type": "string"},
            "description": "The ETag of your last read: refused with 412 when the order "
                           "changed since."}
ETAG_HEADER = {"ETag": {"schema": {"type": "string"},
                        "description": "The order's version; send it back in If-Match."}}


def blueprints() -> list[Blueprint]:
    """Fresh blueprints for one app (an app factory may run several times per process)."""
    return [orders_blueprint(), products_blueprint(), customers_blueprint(),
            imports_blueprint(), status_blueprint()]


def _order(order_id: int) -> Order:
    return get_or_404(db.session, Order, order_id, what="order", field="order")


def _answer(order: Order, status: int = 200, *, with_etag: bool = False) -> Response:
    """The order's JSON (:class:`OrderSchema`'s shape, built by :func:`order_answer`):
    a response the ``@blp.response`` decorators pass through as it is. ``with_etag``:
    with the ``ETag`` of the version answered."""
    answer = order_answer(db.session, order)
    response = jsonify(answer)
    response.status_code = status
    if with_etag:
        response.headers["ETag"] = etag(answer["version"])
    return response


def _page(rows: list[Any], limit: int) -> dict[str, Any]:
    """One page of a keyset listing: ``limit`` rows and the cursor of the next page."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": str(rows[-1].id) if more else None}


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
        select = sa.select(Order).options(lazyload(Order.lines)).limit(limit + 1)
        if query.get("status"):
            select = select.where(Order.status.in_(query["status"]))
        for name in ("channel", "customer_id", "number", "external_ref"):
            if name in query:
                select = select.where(getattr(Order, name) == query[name])
        select = newest_first(db.session, select, after=query.get("after"),
                              created_from=query.get("created_from"),
                              created_to=query.get("created_to"))
        return _page(list(db.session.scalars(select)), limit)

    @blp.post("")
    @permission_required("orders.create")
    @blp.arguments(OrderCreateSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(201, OrderSchema)
    @blp.alt_response(200, schema=OrderSchema, success=True,
                      description="An order created earlier with the same Idempotency-Key.")
    def create(data: Mapping[str, Any], headers: Mapping[str, Any]) -> Any:
        """Create a draft order. Send an `Idempotency-Key` header to retry safely: the
        same key with the same body returns the first order (200); with another body it
        is refused (422)."""
        user = require_user()
        key = headers.get("idempotency_key")
        intake = create_order(db.session, data, actor=user,
                              idempotency_key=f"api:{user.id}:{key}" if key else None,
                              request_fingerprint=fingerprint(data) if key else None)
        reading_from_here(db.session)
        return _answer(intake.order, 201 if intake.created else 200)

    @blp.get("/<int:order_id>")
    @blp.response(200, OrderSchema, headers=ETAG_HEADER)
    def fetch(order_id: int) -> Any:
        """One order with its lines, shipments and timeline; `ETag` is its version."""
        order = _order(order_id)
        return _answer(order, with_etag=True)

    @blp.patch("/<int:order_id>")
    @permission_required("orders.create")
    @blp.arguments(OrderUpdateSchema)
    @blp.doc(parameters=[IF_MATCH])
    @blp.response(200, OrderSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, description="If-Match names a version that is no longer current.")
    def update(data: Mapping[str, Any], order_id: int) -> Any:
        """Change a draft, or an order waiting for or holding approval (a material change
        asks for approval again). `lines`, when sent, replace every line. Send `If-Match`
        with the `ETag` you read: a change made meanwhile makes this a 412."""
        if not data:
            raise ValidationFailed.single("_schema", "send at least one field to change",
                                          code="empty")
        order = update_order(db.session, _order(order_id), data, actor=current_user(),
                             expected_version=expected_version(request.headers.get("If-Match")))
        reading_from_here(db.session)
        return _answer(order, with_etag=True)

    def move(name: str, permission: str, action: Any, schema: Any = None,
             doc: str = "") -> None:
        """Register ``POST /<id>/<name>`` running ``action(session, order, actor, body)``."""

        def view(*args: Any, order_id: int) -> Any:
            body = args[0] if args else {}
            # The id, not a loaded order: the door locks and reads the order itself, and
            # answers a missing one with the same 404 (``no order <id>``, field "order");
            # loading it here first cost a query per move.
            order = action(db.session, order_id, current_user(), body)
            reading_from_here(db.session)
            # Held at a gate: accepted, the move happens when its approval passes.
            return _answer(order, 202 if order.held else 200)

        view.__name__ = name
        view.__doc__ = doc
        decorated = blp.alt_response(202, schema=OrderSchema, description=(
            "The move is held at a gate for approval (see `held`); the order stays as it "
            "was."))(blp.response(200, OrderSchema)(view))
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
    @blp.arguments(ImportOptionsSchema, location="query", **STRICT)
    @blp.doc(**IMPORT_BODY_DOC)
    @blp.response(202, ImportRunSchema)
    def import_csv(reading: Mapping[str, Any]) -> Any:
        """Import orders from CSV (multipart field `file`, or a text/csv body), in the
        background: answers 202 with the import; follow it at `GET /api/imports/<id>`.

        One order per `order_number`; an order with a bad row is refused whole, the
        others are imported; importing the same file again creates nothing new. The
        refused rows: `GET /api/imports/<id>/refused.csv`."""
        return _background_upload("orders", reading)

    return blp


def _upload_bytes() -> tuple[bytes, str]:
    """The uploaded file (multipart field ``file``, or a CSV body) and its name."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed.single("file", "send the CSV in the multipart field 'file'",
                                          code="required")
        return upload.stream.read(), upload.filename or ""
    if request.mimetype not in CSV_TYPES:
        raise UnsupportedMediaType("send the CSV as multipart/form-data (field 'file') or as "
                                   "a text/csv body")
    return request.get_data(cache=False), ""


def _background_upload(kind: str, reading: Mapping[str, Any]) -> Any:
    """Keep the upload as an import run, hand it to a worker: 202 and where to look."""
    options = CsvOptions(**reading)
    content, filename = _upload_bytes()
    user = require_user()
    run = import_in_background(db.session, kind, content, options, filename=filename,
                               actor=user.login)
    return run_body(run, db.session), 202, {"Location": f"/api/imports/{run.id}"}


def _keyset(model: Any, query: Mapping[str, Any], filters: Mapping[str, Any],
            search: tuple[Any, ...] = ()) -> dict[str, Any]:
    """A page of ``model`` in id order after the cursor, with equality ``filters``, and
    ``query["q"]`` looked for (case-insensitive) in the ``search`` columns."""
    limit = query["limit"]
    select = sa.select(model).order_by(model.id).limit(limit + 1)
    if search and query.get("q"):
        pattern = "%" + query["q"].replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        select = select.where(sa.or_(*(column.ilike(pattern, escape="\\")
                                       for column in search)))
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
        """List products in id order, a page at a time (pass `next` as `after`); `q`
        keeps those whose SKU or name contains it (the console's search as you type)."""
        return _keyset(Product, query, {"category": Product.category,
                                        "active": Product.active, "sku": Product.sku},
                       search=(Product.sku, Product.name))

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
        return _product(product_id)

    @blp.patch("/<int:product_id>")
    @permission_required("orders.catalogue")
    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, ProductSchema)
    def patch_product(data: Mapping[str, Any], product_id: int) -> Any:
        """Change a product's fields; `{"active": false}` takes it off sale."""
        if not data:
            raise ValidationFailed.single("_schema", "send at least one field to change",
                                          code="empty")
        return update_product(db.session, _product(product_id), data)

    @blp.post("/import")
    @permission_required("orders.catalogue")
    @blp.arguments(ImportOptionsSchema, location="query", **STRICT)
    @blp.doc(**IMPORT_BODY_DOC)
    @blp.response(202, ImportRunSchema)
    def import_products(reading: Mapping[str, Any]) -> Any:
        """Import products from CSV in the background (202 with the import): new SKUs
        are created, known ones updated with the filled-in cells; the report lists what
        changed and the refused rows."""
        return _background_upload("products", reading)

    return blp


def _product(product_id: int) -> Product:
    return get_or_404(db.session, Product, product_id, what="product", field="product")


def _customer(customer_id: int) -> Customer:
    return get_or_404(db.session, Customer, customer_id, what="customer", field="customer")


def customers_blueprint() -> Blueprint:
    blp = Blueprint("orders_customers", __name__, url_prefix="/api/customers",
                    description="Customers and their addresses.",
                    permission="orders.view")

    @blp.get("")
    @blp.arguments(CustomerQuerySchema, location="query", **STRICT)
    @blp.response(200, CustomerPageSchema)
    def list_customers(query: Mapping[str, Any]) -> Any:
        """List customers in id order, a page at a time (pass `next` as `after`)."""
        return _keyset(Customer, query, {"email": Customer.email, "code": Customer.code,
                                         "country": Customer.country,
                                         "active": Customer.active})

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
        return _customer(customer_id)

    @blp.patch("/<int:customer_id>")
    @permission_required("orders.catalogue")
    @blp.arguments(CustomerUpdateSchema)
    @blp.response(200, CustomerSchema)
    def patch_customer(data: Mapping[str, Any], customer_id: int) -> Any:
        """Change a customer's fields; `{"active": false}` stops new orders for them."""
        if not data:
            raise ValidationFailed.single("_schema", "send at least one field to change",
                                          code="empty")
        return update_customer(db.session, _customer(customer_id), data)

    @blp.post("/import")
    @permission_required("orders.catalogue")
    @blp.arguments(ImportOptionsSchema, location="query", **STRICT)
    @blp.doc(**IMPORT_BODY_DOC)
    @blp.response(202, ImportRunSchema)
    def import_customers(reading: Mapping[str, Any]) -> Any:
        """Import customers from CSV in the background (202 with the import): new codes
        are created, known ones updated with the filled-in cells; the report lists what
        changed and the refused rows."""
        return _background_upload("customers", reading)

    return blp


def imports_blueprint() -> Blueprint:
    blp = Blueprint("orders_imports", __name__, url_prefix="/api/imports",
                    description="Imports of products, customers and orders: progress and "
                                "reports.", permission="orders.import")

    def _run(import_id: int) -> ImportRun:
        return get_or_404(db.session, ImportRun, import_id, what="import", field="import")

    @blp.get("/<int:import_id>")
    @permission_required("orders.import")
    @blp.response(200, ImportRunSchema)
    def fetch_import(import_id: int) -> Any:
        """An import's status, progress (rows done, refused), report and job."""
        return run_body(_run(import_id), db.session)

    @blp.post("/<int:import_id>/resume")
    @permission_required("orders.import")
    @blp.response(202, ImportRunSchema)
    def resume_import(import_id: int) -> Any:
        """Go on with an import that did not finish (its worker stopped), from its last
        batch; a finished import is left as it is."""
        _run(import_id)
        run = resume_in_background(db.session, import_id)
        return run_body(run, db.session), 202, {"Location": f"/api/imports/{run.id}"}

    @blp.get("/<int:import_id>/refused.csv")
    @permission_required("orders.import")
    @blp.doc(responses={"200": {"description": "The refused rows as CSV: row, key, field, "
                                               "reason.",
                                "content": {"text/csv": {"schema": {"type": "string"}}}}})
    def refused_csv(import_id: int) -> Any:
        """The refused rows of an import, to download, correct and import again."""
        run = _run(import_id)
        return Response(refused_rows_csv((run.report or {}).get("errors", [])),
                        mimetype="text/csv", headers={
                            "Content-Disposition":
                                f'attachment; filename="import-{run.id}-refused.csv"'})

    return blp

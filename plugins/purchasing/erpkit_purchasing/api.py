"""JSON endpoints under ``/api/purchasing``.

Reading (figures and policy simulations too) needs ``purchasing.view``; suppliers, drafts,
asking approval, sending and closing need ``purchasing.order`` (a draft an approval rule
holds is decided by the rule's approvers through the approvals API); receiving goods and
transfers needs ``purchasing.receive``.
Every write is one transaction, run again on a database conflict.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from erpkit.api import Blueprint
from erpkit.auth import permission_required, require_user
from erpkit.db import db
from erpkit.parameters import get_value
from erpkit.schemas import check_period, one_page
from erpkit.transitions import run_atomic
from erpkit_inventory import stock
from erpkit_purchasing import (
    branches,
    documents,
    figures,
    planning,
    purchase_orders,
    receiving,
    schemas,
    simulation,
    suppliers,
)
from erpkit_purchasing.models import PurchaseOrder, Supplier, Transfer
from erpkit_purchasing.spend import spend

VIEW, ORDER, RECEIVE = "purchasing.view", "purchasing.order", "purchasing.receive"

# Every listing is a page: ``{"items": [...], "next": ...}``, ``next`` passed back as
# ``after`` (or ``before``, newest first) for the next one; no counts, so a page costs
# the same work however many rows there are.


def _order(order_id: int) -> PurchaseOrder:
    return purchase_orders.order_by_id(db.session, order_id)


def _bounded(args: dict[str, Any]) -> None:
    """Refuse a period longer than ``core.max_report_days`` (a 422 naming ``last``)."""
    check_period(args["first"], args["last"], int(get_value(db.session, "core.max_report_days")),
                 field="last")


def _warehouse_id(code: str | None) -> int | None:
    return stock.warehouse_by_code(db.session, code, "warehouse").id if code else None


def purchasing_blueprint() -> Blueprint:
    """A new blueprint each call, so two apps in one process never share one."""
    blp = Blueprint("purchasing", __name__, url_prefix="/api/purchasing", permission=VIEW,
                    description="Suppliers, purchase orders, receipts, branch transfers and "
                    "purchase spend.")

    @blp.get("/suppliers")
    @blp.arguments(schemas.SupplierQuery, location="query")
    @blp.response(200, schemas.SupplierPageSchema)
    def get_suppliers(args: dict[str, Any]) -> Any:
        """Suppliers with their contacts, by code, a page at a time."""
        query = (sa.select(Supplier).order_by(Supplier.code).limit(args["limit"] + 1)
                 .options(selectinload(Supplier.contacts)))
        if args.get("after") is not None:
            query = query.where(Supplier.code > args["after"])
        return one_page(list(db.session.scalars(query)), args["limit"],
                        lambda supplier: supplier.code)

    @blp.post("/suppliers")
    @permission_required(ORDER)
    @blp.arguments(schemas.SupplierSchema)
    @blp.response(201, schemas.SupplierSchema)
    def post_supplier(body: dict[str, Any]) -> Any:
        """A new supplier with its contacts."""
        return run_atomic(db.session, lambda: suppliers.create_supplier(db.session, **body))

    @blp.put("/suppliers/<code>/products")
    @permission_required(ORDER)
    @blp.arguments(schemas.OfferSchema)
    @blp.response(200, schemas.OfferSchema)
    def put_offer(body: dict[str, Any], code: str) -> Any:
        """What the supplier offers of a product: price, pack size, minimum, lead time."""
        def change() -> Any:
            supplier = suppliers.supplier_by_code(db.session, code)
            extra = {k: body[k] for k in ("pack_size", "min_order_quantity")
                     if body.get(k) is not None}
            return suppliers.offer(db.session, supplier, body["sku"], price=body["price"],
                                   lead_time_days=body["lead_time_days"],
                                   preferred=body["preferred"],
                                   supplier_sku=body["supplier_sku"], **extra)
        return run_atomic(db.session, change)

    @blp.get("/suggestions")
    @blp.arguments(schemas.SuggestionQuery, location="query")
    @blp.response(200, schemas.SuggestionPageSchema)
    def get_suggestions(args: dict[str, Any]) -> Any:
        """What to buy now, with the lead time and safety stock behind each quantity: the
        suggestions of a page of products (by SKU), each product's by warehouse. A page
        may hold fewer suggestions than products; follow `next` to the end for all."""
        found, following = planning.suggestions_page(db.session, limit=args["limit"],
                                                     after=args.get("after"))
        return {"items": found, "next": following}

    @blp.get("/orders")
    @blp.arguments(schemas.NewestFirstQuery, location="query")
    @blp.response(200, schemas.PurchaseOrderPageSchema)
    def get_orders(args: dict[str, Any]) -> Any:
        """Purchase orders with their lines, newest first, a page at a time."""
        query = (sa.select(PurchaseOrder).order_by(PurchaseOrder.id.desc())
                 .limit(args["limit"] + 1).options(selectinload(PurchaseOrder.lines)))
        if args.get("before") is not None:
            query = query.where(PurchaseOrder.id < args["before"])
        return one_page(list(db.session.scalars(query).unique()), args["limit"],
                        lambda order: order.id)

    @blp.post("/orders")
    @permission_required(ORDER)
    @blp.arguments(schemas.NewOrderSchema)
    @blp.response(201, schemas.PurchaseOrderSchema)
    def post_order(body: dict[str, Any]) -> Any:
        """A draft purchase order by hand."""
        actor = require_user().login
        return run_atomic(db.session, lambda: purchase_orders.create_order(
            db.session, actor=actor, **body))

    @blp.post("/orders/from-suggestions")
    @permission_required(ORDER)
    @blp.response(201, schemas.PurchaseOrderSchema(many=True))
    def post_from_suggestions() -> Any:
        """Drafts from every current suggestion: one per supplier and warehouse."""
        actor = require_user().login
        return run_atomic(db.session, lambda: purchase_orders.drafts_from_suggestions(
            db.session, actor=actor))

    @blp.get("/orders/<int:order_id>")
    @blp.response(200, schemas.PurchaseOrderSchema)
    def get_order(order_id: int) -> Any:
        return _order(order_id)

    @blp.get("/orders/<int:order_id>/pdf")
    @blp.response(200, content_type=documents.PDF_TYPE,
                  description="The purchase order as the supplier receives it.")
    def get_order_pdf(order_id: int) -> Any:
        """The purchase order as a PDF (what is attached to the mail to the supplier)."""
        order = _order(order_id)
        return documents.pdf_response(order)

    @blp.patch("/orders/<int:order_id>/lines/<int:line_id>")
    @permission_required(ORDER)
    @blp.arguments(schemas.LineChangeSchema)
    @blp.response(200, schemas.PurchaseOrderSchema)
    def patch_line(body: dict[str, Any], order_id: int, line_id: int) -> Any:
        """Change a draft's line; quantity 0 removes it."""
        return run_atomic(db.session, lambda: purchase_orders.change_line(
            db.session, _order(order_id), line_id, body))

    @blp.post("/orders/<int:order_id>/lines")
    @permission_required(ORDER)
    @blp.arguments(schemas.NewLineSchema)
    @blp.response(201, schemas.PurchaseOrderSchema)
    def post_line(body: dict[str, Any], order_id: int) -> Any:
        def change() -> Any:
            order = _order(order_id)
            purchase_orders.add_line(db.session, order, body)
            return order
        return run_atomic(db.session, change)

    def _move(order_id: int, action: Any, **kwargs: Any) -> Any:
        def change() -> Any:
            order = purchase_orders.order_by_id(db.session, order_id, lock=True)
            action(db.session, order, **kwargs)
            return order
        return run_atomic(db.session, change)

    @blp.post("/orders/<int:order_id>/approve")
    @permission_required(ORDER)
    @blp.response(200, schemas.PurchaseOrderSchema)
    @blp.alt_response(202, schema=schemas.PurchaseOrderSchema, description=(
        "An approval rule of the gate `purchasing.approve` holds it: the order stays a "
        "draft and `held` says what it waits on (approve it at /api/approvals/requests)."))
    def post_approve(order_id: int) -> Any:
        """Approve a draft, unless an approval rule (gate ``purchasing.approve``, facts
        ``purchasing.total`` and ``purchasing.supplier``) holds it for its approvers."""
        actor = require_user()

        def change() -> Any:
            order = purchase_orders.order_by_id(db.session, order_id, lock=True)
            hold = purchase_orders.approve(db.session, order, actor=actor)
            if hold is None:
                return order
            # dumped by PurchaseOrderSchema's ``held``; not a column
            order.held = hold.as_dict()  # type: ignore[attr-defined]
            return order, 202
        return run_atomic(db.session, change)

    @blp.post("/orders/<int:order_id>/send")
    @permission_required(ORDER)
    @blp.response(200, schemas.PurchaseOrderSchema)
    def post_send(order_id: int) -> Any:
        """Send an approved order (e-mail to the supplier by the core's mail job)."""
        return _move(order_id, purchase_orders.send, actor=require_user().login)

    @blp.post("/orders/<int:order_id>/close")
    @permission_required(ORDER)
    @blp.response(200, schemas.PurchaseOrderSchema)
    def post_close(order_id: int) -> Any:
        return _move(order_id, purchase_orders.close, actor=require_user().login)

    @blp.post("/orders/<int:order_id>/cancel")
    @permission_required(ORDER)
    @blp.response(200, schemas.PurchaseOrderSchema)
    def post_cancel(order_id: int) -> Any:
        return _move(order_id, purchase_orders.cancel, actor=require_user().login)

    @blp.post("/orders/<int:order_id>/receipts")
    @permission_required(RECEIVE)
    @blp.arguments(schemas.ReceiveSchema)
    @blp.response(201, schemas.ReceiptSchema)
    def post_receipt(body: dict[str, Any], order_id: int) -> Any:
        """Receive part or all of a line into the order's warehouse (a ledger receipt)."""
        actor = require_user().login
        return run_atomic(db.session, lambda: receiving.receive_line(
            db.session, order_id, body["line_id"], body["quantity"], actor=actor))

    @blp.get("/orders/<int:order_id>/receipts")
    @blp.arguments(schemas.ReceiptQuery, location="query")
    @blp.response(200, schemas.ReceiptPageSchema)
    def get_receipts(args: dict[str, Any], order_id: int) -> Any:
        """The goods received against the order, oldest first, a page at a time."""
        found = receiving.receipts_of(db.session, _order(order_id), limit=args["limit"] + 1,
                                      after=args.get("after"))
        return one_page(found, args["limit"], lambda receipt: receipt.id)

    @blp.put("/routes")
    @permission_required(ORDER)
    @blp.arguments(schemas.RouteSchema)
    @blp.response(200, schemas.RouteSchema)
    def put_route(body: dict[str, Any]) -> Any:
        """A branch is supplied by a central warehouse."""
        def change() -> Any:
            branches.set_route(db.session, stock.warehouse_by_code(db.session, body["warehouse"],
                                                                   "warehouse"),
                               stock.warehouse_by_code(db.session, body["source"], "source"),
                               transfer_days=body["transfer_days"])
            return body
        return run_atomic(db.session, change)

    @blp.get("/plan")
    @blp.arguments(schemas.PlanQuery, location="query")
    @blp.response(200, schemas.BranchPlanSchema)
    def get_plan(args: dict[str, Any]) -> Any:
        """The branch plan of a central warehouse: transfers and purchases."""
        central = stock.warehouse_by_code(db.session, args["central"], "central")
        return branches.plan_for(db.session, central)

    @blp.post("/plan/apply")
    @permission_required(ORDER)
    @blp.arguments(schemas.PlanQuery, location="query")
    @blp.response(201, schemas.TransferSchema(many=True))
    def post_plan(args: dict[str, Any]) -> Any:
        """Dispatch the plan's transfers and draft its purchases."""
        actor = require_user().login

        def change() -> Any:
            central = stock.warehouse_by_code(db.session, args["central"], "central")
            plan = branches.plan_for(db.session, central)
            purchase_orders.drafts_from_suggestions(db.session, plan.purchases, actor=actor)
            return branches.apply_plan(db.session, plan, actor=actor)
        return run_atomic(db.session, change)

    @blp.get("/transfers")
    @blp.arguments(schemas.NewestFirstQuery, location="query")
    @blp.response(200, schemas.TransferPageSchema)
    def get_transfers(args: dict[str, Any]) -> Any:
        """Branch transfers, newest first, a page at a time."""
        query = sa.select(Transfer).order_by(Transfer.id.desc()).limit(args["limit"] + 1)
        if args.get("before") is not None:
            query = query.where(Transfer.id < args["before"])
        return one_page(list(db.session.scalars(query).unique()), args["limit"],
                        lambda transfer: transfer.id)

    @blp.post("/transfers")
    @permission_required(RECEIVE)
    @blp.arguments(schemas.NewTransferSchema)
    @blp.response(201, schemas.TransferSchema)
    def post_transfer(body: dict[str, Any]) -> Any:
        """Dispatch stock from a warehouse to a branch (into transit)."""
        actor = require_user().login
        return run_atomic(db.session, lambda: branches.dispatch(
            db.session, stock.product_by_sku(db.session, body["sku"]),
            stock.warehouse_by_code(db.session, body["source"], "source"),
            stock.warehouse_by_code(db.session, body["warehouse"]), body["quantity"],
            actor=actor))

    @blp.post("/transfers/<int:transfer_id>/arrival")
    @permission_required(RECEIVE)
    @blp.response(200, schemas.TransferSchema)
    def post_arrival(transfer_id: int) -> Any:
        """The transfer arrived: out of transit into the branch."""
        actor = require_user().login
        return run_atomic(db.session, lambda: branches.arrive(db.session, transfer_id,
                                                              actor=actor))

    @blp.get("/spend")
    @blp.arguments(schemas.SpendQuery, location="query")
    @blp.response(200, schemas.SpendSchema(many=True))
    def get_spend(args: dict[str, Any]) -> Any:
        """Value received per supplier and month (or ``by`` quarter or year), for at most
        ``core.max_report_days`` days."""
        _bounded(args)
        return spend(db.session, args["first"], args["last"], args["supplier"], args["by"])

    @blp.get("/figures")
    @blp.arguments(schemas.FiguresQuery, location="query")
    @blp.response(200, schemas.StockFiguresSchema(many=True))
    def get_figures(args: dict[str, Any]) -> Any:
        """Inventory value, turnover, days of cover and stock-outs per product for a
        period (at most ``core.max_report_days`` days), a page of products at a time."""
        _bounded(args)
        place = (stock.warehouse_by_code(db.session, args["warehouse"], "warehouse")
                 if args["warehouse"] else None)
        if args["sku"]:
            stock.product_by_sku(db.session, args["sku"])
        return figures.figures(db.session, args["first"], args["last"], sku=args["sku"],
                               warehouse=place, limit=args["limit"], after=args["after"])

    @blp.get("/simulation")
    @blp.arguments(schemas.SimulationQuery, location="query")
    @blp.response(200, schemas.SimulationSchema)
    def get_simulation(args: dict[str, Any]) -> Any:
        """Today's replenishment policy and a new one replayed day by day over past
        demand: average inventory value, stock-outs and fill rate, before and after."""
        _bounded(args)
        if args["sku"]:
            stock.product_by_sku(db.session, args["sku"])
        return simulation.simulate(db.session, args["first"], args["last"], args,
                                   sku=args["sku"], warehouse_id=_warehouse_id(args["warehouse"]),
                                   limit=args["limit"])

    return blp

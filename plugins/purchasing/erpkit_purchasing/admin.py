"""Console pages: suppliers, offers and supply routes to edit; purchase orders, receipts
and transfers to read; the purchasing desk, where suggestions become drafts and
orders are approved, sent, received and closed, and transfers dispatched and received;
the figures, and the policy simulation.

The desk calls the same services as the JSON API, so the same rules hold in both: it
shows each user the buttons their permissions allow, and checks them again on POST.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from erpkit import TransitionRefused, ValidationFailed
from erpkit.admin.contrib import AdminView, ModelView
from erpkit.auth import current_user
from erpkit.db import db, utcnow
from erpkit.document_gates import DocumentHold
from erpkit.parameters import get_value
from erpkit.schemas import check_period
from erpkit_inventory.stock import show, warehouse_by_code
from erpkit_purchasing import (
    branches,
    documents,
    figures,
    planning,
    purchase_orders,
    receiving,
    schemas,
    simulation,
)
from erpkit_purchasing.models import (
    PurchaseOrder,
    Receipt,
    Supplier,
    SupplierContact,
    SupplierProduct,
    SupplyRoute,
    Transfer,
)

CATEGORY = "Purchasing"
VIEW, ORDER, RECEIVE = "purchasing.view", "purchasing.order", "purchasing.receive"
TEMPLATES = Path(__file__).parent / "templates"


def templates_blueprint() -> Blueprint:
    """Serves no page: makes this package's console templates findable by name."""
    return Blueprint("purchasing_console", __name__, template_folder=str(TEMPLATES))


def _quantity(_view: Any, _context: Any, model: Any, name: str) -> str:
    return show(getattr(model, name))


class SupplierView(ModelView):
    can_delete = False
    column_list = ("code", "name", "email", "active", "created_at")
    form_columns = ("code", "name", "email", "active")
    column_searchable_list = ("code", "name")
    column_default_sort = "code"
    inline_models = ((SupplierContact, {"form_columns": ("id", "name", "role", "email",
                                                         "phone")}),)


class OfferView(ModelView):
    column_list = ("supplier", "product", "supplier_sku", "price", "pack_size",
                   "min_order_quantity", "lead_time_days", "preferred")
    form_columns = column_list
    column_filters = ("supplier.code", "product.sku", "preferred")
    column_formatters = {"pack_size": _quantity, "min_order_quantity": _quantity}


class RouteView(ModelView):
    column_list = ("warehouse", "source", "transfer_days")
    form_columns = column_list


class ReadOnlyView(ModelView):
    can_create = can_edit = can_delete = False
    can_view_details = True
    page_size = 50


class PurchaseOrderView(ReadOnlyView):
    column_list = ("number", "supplier", "warehouse", "status", "total", "created_by",
                   "approved_by", "sent_at", "closed_at")
    column_filters = ("status", "supplier.code")
    column_default_sort = ("id", True)


class ReceiptView(ReadOnlyView):
    column_list = ("id", "line_id", "quantity", "amount", "received_at", "lead_time_days",
                   "ledger_entry_id", "actor")
    column_default_sort = ("id", True)
    column_formatters = {"quantity": _quantity}


class TransferView(ReadOnlyView):
    column_list = ("id", "product", "source", "warehouse", "quantity", "status",
                   "expected_on", "arrived_at", "reference")
    column_default_sort = ("id", True)
    column_filters = ("status",)
    column_formatters = {"quantity": _quantity}


class DeskView(BaseView):
    """Suggestions to draft, open purchase orders to move on, transfers on their way."""

    @expose("/")
    def index(self) -> Any:
        orders = list(db.session.scalars(
            sa.select(PurchaseOrder).where(PurchaseOrder.status.in_(planning.OPEN_STATUSES))
            .order_by(PurchaseOrder.id)).unique())
        transfers = list(db.session.scalars(sa.select(Transfer).where(
            Transfer.status == "in_transit").order_by(Transfer.id)).unique())
        user = current_user()
        args, problems = _read_form(schemas.SuggestionQuery())
        if problems:
            flash("Showing the first page of suggestions: " + "; ".join(problems), "error")
            args = schemas.SuggestionQuery().load({})
        # a page of products' suggestions, by SKU: computing them all is work without
        # bound; "Draft purchase orders" still drafts every suggestion
        suggestions, following = planning.suggestions_page(
            db.session, limit=args["limit"], after=args.get("after"))
        kept: dict[str, Any] = {**request.args, "after": following}
        next_url = url_for(".index", **kept) if following is not None else None
        return self.render("purchasing/desk.html", show=show,
                           suggestions=suggestions, next_url=next_url,
                           orders=orders, transfers=transfers,
                           can_order=bool(user and user.can(ORDER)),
                           can_receive=bool(user and user.can(RECEIVE)))

    @expose("/<int:order_id>/pdf")
    def pdf(self, order_id: int) -> Any:
        """The purchase order's PDF, as the supplier receives it."""
        order = purchase_orders.order_by_id(db.session, order_id)
        return documents.pdf_response(order)

    def _refused(self, permission: str) -> Any:
        user = current_user()
        if user is not None and user.can(permission):
            return None
        flash(f"Not done: you need {permission}", "error")
        return redirect(url_for(".index"))

    def _do(self, work: Any, done: str | Callable[[Any], str]) -> Any:
        try:
            result = work()
        except (ValidationFailed, HTTPException, TransitionRefused) as exc:
            db.session.rollback()
            text = exc.description if isinstance(exc, HTTPException) else str(exc)
            flash(f"Not done: {text}", "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(done(result) if callable(done) else done, "success")
        return redirect(url_for(".index"))

    @expose("/draft", methods=("POST",))
    def draft(self) -> Any:
        refused = self._refused(ORDER)
        if refused is not None:
            return refused
        login = current_user().login  # type: ignore[union-attr]
        return self._do(lambda: purchase_orders.drafts_from_suggestions(db.session, actor=login),
                        "Drafted purchase orders from the suggestions.")

    @expose("/<int:order_id>/<move>", methods=("POST",))
    def move(self, order_id: int, move: str) -> Any:
        user = current_user()
        assert user is not None
        moves = {"approve": lambda o: purchase_orders.approve(db.session, o, actor=user),
                 "send": lambda o: purchase_orders.send(db.session, o, actor=user.login),
                 "close": lambda o: purchase_orders.close(db.session, o, actor=user.login),
                 "cancel": lambda o: purchase_orders.cancel(db.session, o, actor=user.login)}
        if move not in moves:
            flash(f"Unknown move {move!r}", "error")
            return redirect(url_for(".index"))
        needs = "purchasing.order"
        if not user.can(needs):
            flash(f"Not done: you need {needs}", "error")
            return redirect(url_for(".index"))
        def said(result: Any) -> str:
            if isinstance(result, DocumentHold):  # an approval rule holds it
                return f"Purchase order {order_id} waits for approval: {result.summary}"
            return f"Purchase order {order_id}: {move} done."

        return self._do(lambda: moves[move](purchase_orders.order_by_id(
            db.session, order_id, lock=True)), said)

    @expose("/<int:order_id>/lines/<int:line_id>/receive", methods=("POST",))
    def receive(self, order_id: int, line_id: int) -> Any:
        refused = self._refused(RECEIVE)
        if refused is not None:
            return refused
        user = current_user()
        assert user is not None
        try:
            amount = Decimal(request.form.get("quantity", ""))
        except InvalidOperation:
            flash("Not done: quantity must be a number", "error")
            return redirect(url_for(".index"))
        return self._do(lambda: receiving.receive_line(db.session, order_id, line_id, amount,
                                                       actor=user.login),
                        f"Received {show(amount)} on line {line_id}.")

    @expose("/transfers/<int:transfer_id>/arrive", methods=("POST",))
    def arrive(self, transfer_id: int) -> Any:
        refused = self._refused(RECEIVE)
        if refused is not None:
            return refused
        user = current_user()
        assert user is not None
        return self._do(lambda: branches.arrive(db.session, transfer_id, actor=user.login),
                        f"Transfer {transfer_id} arrived.")


def _period(form: dict[str, Any], days: int) -> tuple[date, date]:
    last = form.get("last") or utcnow().date()
    first = form.get("first") or last - timedelta(days=days - 1)
    check_period(first, last, int(get_value(db.session, "core.max_report_days")), field="last")
    return first, last


def _read_form(schema: Any) -> tuple[dict[str, Any], list[str]]:
    """The page's query string through the API's schema: (values, problems)."""
    given = {key: value for key, value in request.args.items() if value.strip()}
    try:
        return schema.load(given), []
    except ValidationError as exc:
        return {}, [f"{name}: {' '.join(map(str, why))}" for name, why
                    in sorted(exc.normalized_messages().items())]


class FiguresView(BaseView):
    """Inventory value, turnover, days of cover and stock-outs per product for a period."""

    @expose("/")
    def index(self) -> Any:
        args, problems = _read_form(schemas.FiguresQuery(partial=("first", "last")))
        rows: list[figures.StockFigures] = []
        first = last = None
        if not problems:
            try:
                first, last = _period(args, 30)
                place = (warehouse_by_code(db.session, args["warehouse"])
                         if args.get("warehouse") else None)
                rows = figures.figures(db.session, first, last, sku=args.get("sku"),
                                       warehouse=place, limit=args.get("limit", 100))
            except ValidationFailed as exc:
                problems = [f"{p.field}: {p.message}" for p in exc.problems]
        return self.render("purchasing/figures.html", show=show, rows=rows, first=first,
                           last=last, args=request.args, problems=problems,
                           total=figures.total_value(rows))


class SimulationView(BaseView):
    """Today's replenishment policy and a new one, replayed over past demand."""

    @expose("/")
    def index(self) -> Any:
        args, problems = _read_form(schemas.SimulationQuery(partial=("first", "last")))
        result = None
        if not problems and request.args:
            try:
                first, last = _period(args, 90)
                place = (warehouse_by_code(db.session, args["warehouse"]).id
                         if args.get("warehouse") else None)
                result = simulation.simulate(db.session, first, last, args,
                                             sku=args.get("sku"), warehouse_id=place,
                                             limit=args.get("limit", 20))
            except ValidationFailed as exc:
                problems = [f"{p.field}: {p.message}" for p in exc.problems]
        return self.render("purchasing/simulation.html", show=show, result=result,
                           args=request.args, problems=problems)


def admin_views() -> list[AdminView]:
    """The purchasing pages of the console (endpoints ``purchasing_*``)."""
    return [
        AdminView(DeskView, "Purchasing desk", "desk", VIEW, category=CATEGORY,
                  kwargs={"url": "purchasing/desk"}),
        AdminView(SupplierView, "Suppliers", "suppliers", ORDER, model=Supplier,
                  category=CATEGORY, kwargs={"url": "purchasing/suppliers"}),
        AdminView(OfferView, "Supplier products", "offers", ORDER,
                  model=SupplierProduct, category=CATEGORY,
                  kwargs={"url": "purchasing/offers"}),
        AdminView(RouteView, "Supply routes", "routes", ORDER, model=SupplyRoute,
                  category=CATEGORY, kwargs={"url": "purchasing/routes"}),
        AdminView(PurchaseOrderView, "Purchase orders", "orders", VIEW,
                  model=PurchaseOrder, category=CATEGORY, kwargs={"url": "purchasing/orders"}),
        AdminView(ReceiptView, "Receipts", "receipts", VIEW, model=Receipt,
                  category=CATEGORY, kwargs={"url": "purchasing/receipts"}),
        AdminView(TransferView, "Transfers", "transfers", VIEW, model=Transfer,
                  category=CATEGORY, kwargs={"url": "purchasing/transfers"}),
        AdminView(FiguresView, "Stock figures", "figures", VIEW,
                  category=CATEGORY, kwargs={"url": "purchasing/figures"}),
        AdminView(SimulationView, "Policy simulation", "simulation", VIEW,
                  category=CATEGORY, kwargs={"url": "purchasing/simulation"}),
    ]

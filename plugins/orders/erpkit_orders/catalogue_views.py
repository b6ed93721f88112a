"""Console pages of the catalogue, the customers and the imports.

Products and customers are edited (and switched off with ``active``) in Flask-Admin
model views; they are never deleted, since orders keep pointing at them. The import
page uploads a file of products, customers or orders with its reading options and shows
each import's progress, report and refused rows (to download as CSV).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import action

from erpkit import ValidationFailed
from erpkit.admin.contrib import AdminView, ModelView
from erpkit.auth import current_user
from erpkit.db import db
from erpkit_orders.countries import UnknownCountry, country_code
from erpkit_orders.csv_reading import COMMON_ENCODINGS, CsvOptions
from erpkit_orders.import_runs import KINDS, import_in_background, run_body
from erpkit_orders.models import Customer, ImportRun, Product

CATEGORY = "Orders"
#: An import's status for people, and its colour.
IMPORT_STATUS = {"queued": ("Waiting for a worker", "secondary"), "running": ("Running", "info"),
                 "done": ("Done", "success"), "failed": ("Failed", "danger")}
#: What each kind of import needs besides orders.import.
KIND_PERMISSIONS = {"products": "orders.catalogue", "customers": "orders.catalogue",
                    "orders": "orders.import"}


class SwitchOffView(ModelView):
    """Rows switched off and on again in bulk from the list (ticked rows, "With
    selected"): never deleted, since orders keep pointing at them."""

    can_delete = False

    @action("deactivate", "Deactivate", "Deactivate the selected rows? They stay on "
            "their orders but can no longer be ordered.")
    def deactivate(self, ids: list[str]) -> None:
        self._switch(ids, active=False)

    @action("activate", "Activate")
    def activate(self, ids: list[str]) -> None:
        self._switch(ids, active=True)

    def _switch(self, ids: list[str], *, active: bool) -> None:
        wanted = [int(i) for i in ids if str(i).isdigit() and len(str(i)) < 10]
        result = db.session.execute(sa.update(self.model).where(self.model.id.in_(wanted))
                                    .values(active=active))
        db.session.commit()
        count = getattr(result, "rowcount", len(wanted))
        flash(f"{count} {'activated' if active else 'deactivated'}.", "success")


class ProductView(SwitchOffView):
    can_delete = False  # order lines keep pointing at products: switch them off instead
    column_list = ("sku", "name", "unit_price", "category", "active", "supplier",
                   "reorder_level")
    column_searchable_list = ("sku", "name")
    column_filters = ("category", "active", "supplier")
    column_default_sort = "sku"
    form_columns = ("sku", "name", "unit_price", "category", "active", "unit",
                    "min_quantity", "max_quantity", "pack_size", "supplier", "reorder_level")


class CustomerView(SwitchOffView):
    can_delete = False  # their orders stay: switch them off instead
    column_list = ("code", "name", "email", "country", "city", "active")
    column_searchable_list = ("code", "name", "email")
    column_filters = ("country", "active", "city")
    column_default_sort = "name"
    form_columns = ("code", "name", "email", "phone", "country", "region", "city",
                    "postal_code", "address", "active")

    def on_model_change(self, form: Any, model: Customer, is_created: bool) -> None:
        # The same countries the API and imports accept: UK, Germany, de...
        if model.country:
            try:
                model.country = country_code(model.country)
            except UnknownCountry as exc:
                raise ValueError(str(exc)) from None


class ImportsView(BaseView):
    """Upload a file to import; each import's progress, report and refused rows."""

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        if request.method == "POST":
            return self._upload()
        runs = db.session.scalars(sa.select(ImportRun).order_by(ImportRun.id.desc())
                                  .limit(50)).all()
        return self.render("erpkit_orders/console_imports.html", runs=runs, kinds=KINDS,
                           encodings=COMMON_ENCODINGS, status_label=IMPORT_STATUS)

    def _upload(self) -> Any:
        form = request.form
        kind = form.get("kind", "")
        user = current_user()
        if kind not in KINDS:
            abort(400, "choose products, customers or orders")
        if user is None or not user.can(KIND_PERMISSIONS[kind]):
            abort(403, f"your roles do not grant the permission {KIND_PERMISSIONS[kind]!r}")
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Choose a CSV file to import.", "error")
            return redirect(url_for(".index"))
        try:
            options = CsvOptions(encoding=form.get("encoding") or "utf-8-sig",
                                 decimal_comma=bool(form.get("decimal_comma")),
                                 date_format=form.get("date_format") or None)
        except ValidationFailed as exc:
            flash("; ".join(p.message for p in exc.problems), "error")
            return redirect(url_for(".index"))
        try:
            run = import_in_background(db.session, kind, upload.stream.read(), options,
                                       filename=upload.filename, actor=user.login)
        except ValidationFailed as exc:
            db.session.rollback()
            flash("Refused: " + "; ".join(p.message for p in exc.problems), "error")
            return redirect(url_for(".index"))
        flash(f"Import {run.id} is under way: this page follows it.", "info")
        return redirect(url_for(".detail", import_id=run.id))

    @expose("/<int:import_id>/")
    def detail(self, import_id: int) -> Any:
        run = db.session.get(ImportRun, import_id)
        if run is None:
            abort(404)
        # The file's rows (its lines less the header; a quoted newline makes it a guess
        # high, never low) measure the progress bar; once done it is full.
        rows = max(run.content.count(b"\n") - 1 + (not run.content.endswith(b"\n")),
                   run.rows_done, 1)
        done = 100 if run.status == "done" else min(99, run.rows_done * 100 // rows)
        return self.render("erpkit_orders/console_import.html",
                           run=run_body(run, db.session), percent=done, rows=rows,
                           status_label=IMPORT_STATUS)


def catalogue_views() -> list[AdminView]:
    return [
        AdminView(ProductView, "Products", "product_pages", "orders.catalogue", model=Product,
                  category=CATEGORY, kwargs={"url": "orders/products"}),
        AdminView(CustomerView, "Customers", "customer_pages", "orders.catalogue", model=Customer,
                  category=CATEGORY, kwargs={"url": "orders/customers"}),
        AdminView(ImportsView, "Imports", "import_pages", "orders.import", category=CATEGORY,
                  kwargs={"url": "orders/imports"}),
    ]

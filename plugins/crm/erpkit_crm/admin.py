"""Console pages: the customer list (filtered by segment, group and tag), each customer's
page (profile, preferences, history, credit, segment), the segment table and groups, and
the panel the new-order form shows when a customer is chosen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_admin import BaseView, expose
from markupsafe import Markup
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from erpkit.admin.contrib import AdminView, ModelView
from erpkit.db import db
from erpkit_crm import history, segments
from erpkit_crm.models import CustomerGroup, SegmentRule
from erpkit_crm.schemas import CustomerListQuery
from erpkit_crm.views import customer_page, profile_view
from erpkit_orders.models import Customer

CATEGORY = "Customers"
#: Customers on one page of the console's list; "Next" shows the following ones.
PAGE = 200
TEMPLATES = Path(__file__).parent / "templates"


def templates_blueprint() -> Blueprint:
    """Serves no page: makes this package's console templates findable by name."""
    return Blueprint("crm_console", __name__, template_folder=str(TEMPLATES))


class CustomersView(BaseView):
    """Customers with their segment and group; each one's page."""

    @expose("/")
    def index(self) -> Any:
        filters = {k: request.args.get(k, "").strip() for k in ("segment", "group", "tag")}
        given = {**{k: v for k, v in filters.items() if v},
                 **({"after": request.args["after"]} if request.args.get("after") else {})}
        try:
            query = CustomerListQuery().load(given)  # the API's rules for the same list
        except ValidationError as exc:
            abort(400, str(exc.messages))
        page = customer_page(db.session, **{**query, "limit": PAGE})
        return self.render("erpkit_crm/customers.html", rows=page["items"], filters=filters,
                           next_page=page["next"],
                           segment_names=[s.name for s in segments.segment_table(db.session)])

    @expose("/<int:customer_id>/")
    def detail(self, customer_id: int) -> Any:
        customer = db.session.get(Customer, customer_id)
        if customer is None:
            abort(404)
        return self.render("erpkit_crm/customer.html", customer=customer,
                           profile=profile_view(db.session, customer),
                           summary=history.summary(db.session, customer_id),
                           orders=history.orders(db.session, customer_id, limit=20),
                           frequent=history.frequent_products(db.session, customer_id))


class GroupView(ModelView):
    column_list = ("code", "name", "credit_limit")
    form_columns = ("code", "name", "credit_limit")
    column_default_sort = "code"


class SegmentRuleView(ModelView):
    """The segment table: rows tried by position, the first match names the segment."""

    column_list = ("position", "name", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max")
    form_columns = column_list
    column_default_sort = "position"


def order_form_panel(customer: Any, session: Session) -> Markup:
    """Preferences, credit available and suggestions for the new-order form."""
    return Markup(render_template("erpkit_crm/order_panel.html",
                                  profile=profile_view(session, customer)))


def admin_views() -> list[AdminView]:
    """The crm pages of the console (endpoints ``crm_*``)."""
    return [
        AdminView(CustomersView, "Customers", "customers", "crm.view", category=CATEGORY,
                  kwargs={"url": "crm/customers"}),
        AdminView(GroupView, "Customer groups", "groups", "crm.configure",
                  model=CustomerGroup, category=CATEGORY, kwargs={"url": "crm/groups"}),
        AdminView(SegmentRuleView, "Segment table", "segment_rules", "crm.configure",
                  model=SegmentRule, category=CATEGORY, kwargs={"url": "crm/segments"}),
    ]

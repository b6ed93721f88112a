"""JSON endpoints under ``/api/crm``.

Reading needs ``crm.view``; editing profiles ``crm.manage``; groups, limits and the
segment table ``crm.configure``; the open balance ``crm.set_balance``; confirming beyond
the limit ``crm.credit_override``; export and erasure ``crm.export_personal_data`` and
``crm.erase``. Every write is one transaction, run again on a database conflict.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort

from erpkit.api import Blueprint
from erpkit.auth import permission_required, require_user
from erpkit.db import db
from erpkit.schemas import one_page
from erpkit.transitions import run_atomic
from erpkit_crm import credit, history, privacy, profiles, segments
from erpkit_crm import schemas as s
from erpkit_crm.models import CustomerGroup, SegmentRule
from erpkit_crm.views import customer_page, profile_view
from erpkit_orders import lifecycle
from erpkit_orders.models import Customer, Order


def _customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404, f"customer {customer_id} does not exist")
    return customer


def _credit_body(found: credit.Credit) -> dict[str, Any]:
    return {"limit": found.limit, "limit_source": found.limit_source,
            "open_orders": found.open_orders, "open_balance": found.open_balance,
            "exposure": found.exposure, "available": found.available}


def crm_blueprint() -> Blueprint:
    """A new blueprint each call, so two apps in one process never share one."""
    blp = Blueprint("crm", __name__, url_prefix="/api/crm", permission="crm.view",
                    description="Customers: profiles, preferences, history and suggestions, "
                    "credit, RFM segments, personal data.")

    # --- customers and profiles ---------------------------------------------------------

    @blp.get("/customers")
    @permission_required("crm.view")
    @blp.arguments(s.CustomerListQuery, location="query")
    @blp.response(200, s.CustomerPageSchema)
    def list_customers(args: dict[str, Any]) -> Any:
        """Customers, filtered by segment, group and tag, a page at a time: the scored
        ones best lifetime revenue first, then those not scored yet."""
        return customer_page(db.session, **args)

    @blp.get("/customers/<int:customer_id>/profile")
    @permission_required("crm.view")
    @blp.response(200, s.ProfileSchema)
    def get_profile(customer_id: int) -> Any:
        """Everything the person taking the order should see: profile, preferences,
        credit, segment and suggestions."""
        return profile_view(db.session, _customer(customer_id))

    @blp.patch("/customers/<int:customer_id>/profile")
    @permission_required("crm.manage")
    @blp.arguments(s.ProfileUpdateSchema)
    @blp.response(200, s.ProfileSchema)
    def patch_profile(body: dict[str, Any], customer_id: int) -> Any:
        """Change the group, the tags and preference values (validated)."""
        customer = _customer(customer_id)

        def save() -> Any:
            if "group" in body:
                profiles.set_group(db.session, customer_id, body["group"])
            if "tags" in body:
                profiles.set_tags(db.session, customer_id, body["tags"])
            if "preferences" in body:
                profiles.set_preferences(db.session, customer_id, body["preferences"])

        run_atomic(db.session, save)
        return profile_view(db.session, customer)

    @blp.post("/customers/<int:customer_id>/contacts")
    @permission_required("crm.manage")
    @blp.arguments(s.ContactSchema)
    @blp.response(201, s.ContactSchema)
    def post_contact(body: dict[str, Any], customer_id: int) -> Any:
        _customer(customer_id)
        return run_atomic(db.session, lambda: profiles.add_contact(db.session, customer_id,
                                                                   body))

    @blp.post("/customers/<int:customer_id>/notes")
    @permission_required("crm.manage")
    @blp.arguments(s.NoteSchema)
    @blp.response(201, s.NoteSchema)
    def post_note(body: dict[str, Any], customer_id: int) -> Any:
        _customer(customer_id)
        author = require_user().login
        return run_atomic(db.session, lambda: profiles.add_note(
            db.session, customer_id, body["text"], author=author))

    @blp.post("/customers/<int:customer_id>/interactions")
    @permission_required("crm.manage")
    @blp.arguments(s.InteractionSchema)
    @blp.response(201, s.InteractionSchema)
    def post_interaction(body: dict[str, Any], customer_id: int) -> Any:
        """Log a call, an e-mail, a visit or a complaint."""
        _customer(customer_id)
        actor = require_user().login
        return run_atomic(db.session, lambda: profiles.log_interaction(
            db.session, customer_id, body, actor=actor))

    @blp.put("/customers/<int:customer_id>/default-address")
    @permission_required("crm.manage")
    @blp.arguments(s.DefaultAddressSchema)
    @blp.response(200, s.DefaultAddressSchema)
    def put_default_address(body: dict[str, Any], customer_id: int) -> Any:
        """Make one of the customer's addresses the default for billing or shipping."""
        _customer(customer_id)
        return run_atomic(db.session, lambda: profiles.set_default_address(
            db.session, customer_id, body["kind"], body["address_id"]))

    # --- history and suggestions ---------------------------------------------------------

    @blp.get("/customers/<int:customer_id>/history")
    @permission_required("crm.view")
    @blp.response(200, s.HistorySchema)
    def get_history(customer_id: int) -> Any:
        """Orders, lifetime revenue, first and last order, average order value, frequently
        bought products and what the customer is due for."""
        _customer(customer_id)
        return {"summary": history.summary(db.session, customer_id),
                "orders": history.orders(db.session, customer_id),
                "frequent_products": history.frequent_products(db.session, customer_id),
                "suggestions": history.due_for(db.session, customer_id)}

    @blp.get("/customers/<int:customer_id>/suggestions")
    @permission_required("crm.view")
    @blp.arguments(s.SuggestionQuery, location="query")
    @blp.response(200, s.DuePageSchema)
    def get_suggestions(args: dict[str, Any], customer_id: int) -> Any:
        """Products the customer buys regularly and is due for, soonest due first, a page
        at a time (there are as many as products the customer bought regularly)."""
        _customer(customer_id)
        found = history.due_for(db.session, customer_id)
        if args.get("after") is not None:
            found = [due for due in found if (due.due_on, due.sku) > args["after"]]
        return one_page(found[:args["limit"] + 1], args["limit"],
                        lambda due: f"{due.due_on.isoformat()}/{due.sku}")

    @blp.post("/customers/<int:customer_id>/reorder")
    @permission_required("orders.create")
    @blp.response(201, s.ReorderResultSchema)
    def post_reorder(customer_id: int) -> Any:
        """A new draft with the last order's lines at today's prices; ``changes`` (and the
        draft's note) say what differs."""
        _customer(customer_id)
        intake, changes = history.reorder_last(db.session, customer_id, actor=require_user())
        return {"order_id": intake.order.id, "number": intake.order.number,
                "total": intake.order.total, "changes": changes}

    # --- credit ---------------------------------------------------------------------------

    @blp.get("/customers/<int:customer_id>/credit")
    @permission_required("crm.view")
    @blp.response(200, s.CreditSchema)
    def get_credit(customer_id: int) -> Any:
        _customer(customer_id)
        return _credit_body(credit.credit_of(db.session, customer_id))

    @blp.put("/customers/<int:customer_id>/credit-limit")
    @permission_required("crm.configure")
    @blp.arguments(s.CreditLimitSchema)
    @blp.response(200, s.CreditSchema)
    def put_credit_limit(body: dict[str, Any], customer_id: int) -> Any:
        """Set the customer's own limit (null: the group's or the default); audited."""
        _customer(customer_id)
        actor = require_user().login
        return _credit_body(run_atomic(db.session, lambda: credit.set_credit_limit(
            db.session, customer_id, body["credit_limit"], actor=actor)))

    @blp.put("/customers/<int:customer_id>/open-balance")
    @permission_required("crm.set_balance")
    @blp.arguments(s.OpenBalanceSchema)
    @blp.response(200, s.CreditSchema)
    def put_open_balance(body: dict[str, Any], customer_id: int) -> Any:
        """Accounting's figure of what the customer owes on invoices; audited."""
        _customer(customer_id)
        actor = require_user().login
        return _credit_body(run_atomic(db.session, lambda: credit.set_open_balance(
            db.session, customer_id, body["open_balance"], actor=actor)))

    @blp.post("/orders/<int:order_id>/credit-override")
    @permission_required(credit.OVERRIDE_PERMISSION)
    @blp.arguments(s.OverrideSchema)
    @blp.response(200, s.OrderBriefSchema)
    def post_override(body: dict[str, Any], order_id: int) -> Any:
        """Confirm an order beyond its customer's credit limit (an approved order, or one
        crm holds for credit); audited with the reason."""
        order = db.session.get(Order, order_id)
        if order is None:
            abort(404, f"order {order_id} does not exist")
        user = require_user()
        status = order.status
        db.session.info[credit.OVERRIDE_KEY] = {order_id: body["reason"]}
        try:
            if status == "pending_approval":
                return lifecycle.approve(db.session, order_id, actor=user,
                                         reason=f"credit override: {body['reason']}")
            return lifecycle.confirm(db.session, order_id, actor=user)
        finally:
            db.session.info.pop(credit.OVERRIDE_KEY, None)

    # --- groups and segments --------------------------------------------------------------

    @blp.get("/groups")
    @permission_required("crm.view")
    @blp.arguments(s.GroupQuery, location="query")
    @blp.response(200, s.GroupPageSchema)
    def get_groups(args: dict[str, Any]) -> Any:
        """Customer groups by code (its unique index), a page at a time."""
        query = (sa.select(CustomerGroup).order_by(CustomerGroup.code)
                 .limit(args["limit"] + 1))
        if args.get("after") is not None:
            query = query.where(CustomerGroup.code > args["after"])
        return one_page(list(db.session.scalars(query)), args["limit"], lambda g: g.code)

    @blp.put("/groups/<code>")
    @permission_required("crm.configure")
    @blp.arguments(s.GroupSchema)
    @blp.response(200, s.GroupSchema)
    def put_group(body: dict[str, Any], code: str) -> Any:
        """Create or change a customer group (its code is in the URL)."""

        def save() -> Any:
            group = db.session.scalar(sa.select(CustomerGroup)
                                      .where(CustomerGroup.code == code))
            if group is None:
                group = CustomerGroup(code=code)
                db.session.add(group)
            group.name, group.credit_limit = body["name"], body["credit_limit"]
            db.session.flush()
            return group

        return run_atomic(db.session, save)

    @blp.get("/segments")
    @permission_required("crm.view")
    @blp.arguments(s.SegmentQuery, location="query")
    @blp.response(200, s.SegmentPageSchema)
    def get_segments(args: dict[str, Any]) -> Any:
        """The segment table in use, first match first, a page at a time. The table is
        settings, not data (``PUT`` takes at most 50 rows), so a page reads it whole."""
        start = args.get("after") or 0
        rows = [{"number": number, "name": seg.name, "r_min": seg.r[0], "r_max": seg.r[1],
                 "f_min": seg.f[0], "f_max": seg.f[1], "m_min": seg.m[0], "m_max": seg.m[1]}
                for number, seg in enumerate(segments.segment_table(db.session), start=1)]
        return one_page(rows[start:start + args["limit"] + 1], args["limit"],
                        lambda row: row["number"])

    @blp.put("/segments")
    @permission_required("crm.configure")
    @blp.arguments(s.SegmentTableSchema)
    @blp.response(200, s.SegmentRuleSchema(many=True))
    def put_segments(body: dict[str, Any]) -> Any:
        """Replace the segment table; applies from the next recompute. Audited."""
        actor = require_user().login

        def save() -> Any:
            from erpkit.models import audit

            before = [seg.name for seg in segments.segment_table(db.session)]
            db.session.execute(sa.delete(SegmentRule))
            db.session.flush()
            for position, row in enumerate(body["rows"], start=1):
                db.session.add(SegmentRule(position=position, **row))
            audit(db.session, actor=actor, entity="crm_segment_table", entity_id="segments",
                  action="update", before=before, after=body["rows"])
            return body["rows"]

        return run_atomic(db.session, save)

    @blp.post("/segments/recompute")
    @permission_required("crm.configure")
    @blp.arguments(s.RecomputeSchema)
    @blp.response(200, s.RecomputeResultSchema)
    def post_recompute(body: dict[str, Any]) -> Any:
        """Score every customer again as of ``as_of`` (default today)."""
        return run_atomic(db.session, lambda: segments.recompute(db.session, body["as_of"]))

    # --- personal data ----------------------------------------------------------------------

    @blp.get("/customers/<int:customer_id>/personal-data")
    @permission_required("crm.export_personal_data")
    def get_personal_data(customer_id: int) -> Any:
        """Everything held about the person, as JSON; audited."""
        _customer(customer_id)
        actor = require_user().login
        return run_atomic(db.session, lambda: privacy.export(db.session, customer_id,
                                                             actor=actor))

    @blp.post("/customers/<int:customer_id>/erase")
    @permission_required("crm.erase")
    @blp.response(204)
    def post_erase(customer_id: int) -> Any:
        """Anonymise the person; orders and their figures stay. Audited."""
        _customer(customer_id)
        actor = require_user().login
        run_atomic(db.session, lambda: privacy.erase(db.session, customer_id, actor=actor))
        return None

    return blp

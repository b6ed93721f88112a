"""Console views of orders: a list that stays fast on a million orders, a new-order form,
and each order's detail with lines, timeline and the actions its status allows.

Every action goes through the same intake and lifecycle functions as the JSON API, and
checks the same permission (``orders.submit``, ``orders.cancel``...) on the server. The
core builds these views behind ``orders.view`` and names their endpoints ``orders_*``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from markupsafe import Markup
from sqlalchemy.orm import lazyload

from erpkit import TransitionRefused, ValidationFailed
from erpkit.admin.contrib import AdminView
from erpkit.admin.formatting import plain
from erpkit.auth import current_user
from erpkit.db import db
from erpkit.plugins import current_registry
from erpkit.problems import Problem, load
from erpkit.schemas import FIRST_DAY, LAST_DAY, MAX_ID
from erpkit_orders import lifecycle
from erpkit_orders.intake import EDITABLE, check_order, create_order, update_order
from erpkit_orders.listing import newest_first
from erpkit_orders.models import Customer, Order, Product
from erpkit_orders.schemas import OrderCreateSchema, OrderUpdateSchema
from erpkit_orders.timeline import events

HERE = Path(__file__).parent
CATEGORY = "Orders"
PAGE = 50
BLANK_LINES = 3
#: The most line rows a posted form is read for (a guard, not a business limit).
MAX_LINE_ROWS = 500
SHIPPED_STATUSES = {str(lifecycle.Status.PARTIALLY_SHIPPED), str(lifecycle.Status.SHIPPED)}
#: Customers and products offered in the new-order form's lists.
CHOICES_LIMIT = 500


def _require(permission: str) -> Any:
    """The current user, or 403 when their roles lack ``permission``."""
    user = current_user()
    if user is None or not user.can(permission):
        abort(403, f"your roles do not grant the permission {permission!r}")
    return user


def _day(text: str | None) -> date | None:
    """A day typed in a filter, or ``None`` when it is not one the columns can hold."""
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


@dataclass(frozen=True)
class Action:
    """A button on an order's page: the lifecycle move, its permission, and whether the
    person must say why."""

    name: str
    label: str
    permission: str
    to_status: str
    run: Callable[..., Any]
    asks_reason: bool = False
    style: str = "primary"


ACTIONS = {
    action.name: action
    for action in (
        Action(
            "submit",
            "Submit",
            "orders.submit",
            "submitted",
            lambda s, o, actor, reason: lifecycle.submit(s, o, actor=actor),
        ),
        Action(
            "confirm",
            "Confirm",
            "orders.confirm",
            "confirmed",
            lambda s, o, actor, reason: lifecycle.confirm(s, o, actor=actor),
        ),
        Action(
            "reopen",
            "Back to draft to correct",
            "orders.create",
            "draft",
            lambda s, o, actor, reason: lifecycle.reopen(s, o, actor=actor, reason=reason),
            asks_reason=True,
            style="secondary",
        ),
        Action(
            "deliver",
            "Mark delivered",
            "orders.deliver",
            "delivered",
            lambda s, o, actor, reason: lifecycle.deliver(s, o, actor=actor),
        ),
        Action(
            "return",
            "Record return",
            "orders.deliver",
            "returned",
            lambda s, o, actor, reason: lifecycle.return_order(s, o, actor=actor,
                                                               reason=reason),
            asks_reason=True,
            style="warning",
        ),
        Action(
            "close",
            "Close order",
            "orders.deliver",
            "closed",
            lambda s, o, actor, reason: lifecycle.close(s, o, actor=actor),
            style="secondary",
        ),
        Action(
            "cancel",
            "Cancel order",
            "orders.cancel",
            "cancelled",
            lambda s, o, actor, reason: lifecycle.cancel(s, o, actor=actor, reason=reason),
            asks_reason=True,
            style="danger",
        ),
    )
}


class OrdersView(BaseView):
    """Orders: list with search and filters, the new-order form, each order's page."""

    def render(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault("status_label", lifecycle.label)
        return super().render(template, **kwargs)

    @expose("/")
    def index(self) -> Any:
        args = request.args
        query = sa.select(Order).options(lazyload(Order.lines)).limit(PAGE + 1)
        if args.get("status"):
            query = query.where(Order.status == args["status"])
        if args.get("channel"):
            query = query.where(Order.channel == args["channel"])
        if args.get("number"):
            # The number here, or the old system's number of an imported order.
            wanted = args["number"].strip()
            query = query.where(sa.or_(Order.number == wanted, Order.external_ref == wanted))
        if args.get("customer"):
            query = query.join(Order.customer).where(
                Customer.name.ilike(f"%{args['customer'].strip()}%")
            )
        # Keyset paging ("older" link), never a COUNT(*) over every order.
        before = args.get("before", "")
        query = newest_first(
            db.session, query,
            after=int(before) if before.isdigit() and int(before) <= MAX_ID else None,
            created_from=_day(args.get("created_from")), created_to=_day(args.get("created_to")))
        rows = list(db.session.scalars(query))
        older = rows[PAGE - 1].id if len(rows) > PAGE else None
        filters = {k: v for k, v in args.items() if k != "before" and v}
        return self.render(
            "erpkit_orders/console_list.html",
            orders=rows[:PAGE],
            older=older,
            filters=filters,
            statuses=[(str(s), lifecycle.label(s)) for s in lifecycle.Status],
            channels=self._channels(),
            can_create=bool((user := current_user()) and user.can("orders.create")),
        )

    @expose("/new", methods=("GET", "POST"))
    def new(self) -> Any:
        user = _require("orders.create")
        raw: dict[str, Any] = {"channel": self._default_channel(), "lines": []}
        problems: list[Problem] = []
        if request.method == "POST":
            raw = self._raw_order()
            try:
                data = load(OrderCreateSchema(), raw)
                intake = create_order(db.session, data, actor=user)
            except ValidationFailed as exc:
                db.session.rollback()
                problems = exc.problems
            else:
                db.session.commit()
                flash(f"Created order {intake.order.number} (draft).", "success")
                for warning in intake.warnings:
                    flash(f"{warning.field}: {warning.message}", "warning")
                return redirect(url_for(".detail", order_id=intake.order.id))
        page = self._order_form(raw, problems)
        return (page, 422) if problems else page

    def _order_form(self, raw: dict[str, Any], problems: list[Problem],
                    order: Order | None = None) -> str:
        """The order form, blank (new) or filled with ``order``'s lines (edit)."""
        lines = raw.get("lines", []) + [{}] * BLANK_LINES
        return self.render(
            "erpkit_orders/console_new.html",
            raw=raw,
            order=order,
            lines=lines,
            problems=problems,
            channels=self._channels(),
            panels=customer_panels(raw.get("customer_id")),
            customers=db.session.scalars(
                sa.select(Customer).order_by(Customer.name).limit(CHOICES_LIMIT)
            ).all(),
            products=db.session.scalars(
                sa.select(Product)
                .where(Product.active.is_(True))
                .order_by(Product.sku)
                .limit(CHOICES_LIMIT)
            ).all(),
        )

    @expose("/new/customer-panels")
    def panels(self) -> Any:
        """What plugins show about the customer just chosen (hook
        ``erpkit_orders_customer_panel``), fetched by the new-order form."""
        _require("orders.create")
        return Markup("").join(customer_panels(request.args.get("customer_id")))

    @expose("/new/check", methods=("POST",))
    def check(self) -> Any:
        """The order form checked on the server as a person types (JSON in and out):
        each line's problems and warnings (limits, packs, stock available, from the
        same :func:`~erpkit_orders.intake.check_order` rules as saving), its total, and
        the order's total after discounts. Nothing is written."""
        _require("orders.create")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(problems=[{"field": "_schema", "message":
                                      "send the order form as a JSON object"}]), 400
        raw = {key: body[key] for key in ("customer_id", "channel", "lines") if key in body}
        raw.setdefault("channel", self._default_channel())
        order: Order | None = None
        try:
            data = load(OrderCreateSchema(partial=("customer_id",)), raw)
            order, problems = check_order(db.session, data)
            answer = line_check(order, problems, len(raw.get("lines") or ()))
        except ValidationFailed as exc:
            answer = line_check(None, exc.problems, len(raw.get("lines") or ()))
        finally:
            db.session.rollback()
        return jsonify(answer)

    @expose("/<int:order_id>/")
    def detail(self, order_id: int) -> Any:
        order = db.session.get(Order, order_id)
        if order is None:
            abort(404)
        user = current_user()
        moves = lifecycle.allowed_moves(db.session, order)
        actions = [
            a
            for a in ACTIONS.values()
            if a.to_status in moves and user is not None and user.can(a.permission)
        ]
        can = user.can if user is not None else (lambda _permission: False)
        shipping = bool(moves & SHIPPED_STATUSES) and can("orders.ship")
        return self.render(
            "erpkit_orders/console_order.html",
            order=order,
            timeline=events(db.session, order.id),
            actions=actions,
            can_edit=order.status in EDITABLE and can("orders.create"),
            shipping=shipping,
            open_lines=[line for line in order.lines if line.open_quantity > 0],
            logistics_url=_logistics_shipments_url() if shipping else None,
        )

    @expose("/<int:order_id>/edit", methods=("GET", "POST"))
    def edit(self, order_id: int) -> Any:
        """Correct a draft (or an order waiting for or holding approval): the same
        :func:`~erpkit_orders.intake.update_order` as ``PATCH /api/orders/<id>``."""
        user = _require("orders.create")
        order = db.session.get(Order, order_id)
        if order is None:
            abort(404)
        if order.status not in EDITABLE:
            flash(f"Order {order.number} is {lifecycle.label(order.status).lower()} and can "
                  "no longer be changed.", "error")
            return redirect(url_for(".detail", order_id=order_id))
        problems: list[Problem] = []
        if request.method == "POST":
            raw = self._raw_order()
            raw["note"] = raw.get("note")
            try:
                data = load(OrderUpdateSchema(), raw)
                update_order(db.session, order_id, data, actor=user)
            except (ValidationFailed, TransitionRefused) as exc:
                db.session.rollback()
                problems = (exc.problems if isinstance(exc, ValidationFailed)
                            else [Problem(exc.field or "order", exc.message,
                                          exc.code or "refused")])
            else:
                db.session.commit()
                flash(f"Saved order {order.number}.", "success")
                return redirect(url_for(".detail", order_id=order_id))
        else:
            raw = {
                "customer_id": order.customer_id,
                "channel": order.channel,
                "note": order.note,
                "lines": [{"product_id": line.product_id,
                           "quantity": plain(line.quantity),
                           "discount_percent": plain(line.discount_percent)}
                          for line in order.lines],
            }
        page = self._order_form(raw, problems, order=order)
        return (page, 422) if problems else page

    @expose("/<int:order_id>/ship", methods=("POST",))
    def ship(self, order_id: int) -> Any:
        """Record one shipment: the quantities typed per line and a tracking number,
        through :func:`~erpkit_orders.lifecycle.ship` (``POST /api/orders/<id>/ship``)."""
        user = _require("orders.ship")
        quantities: dict[int, Decimal] = {}
        problems: list[str] = []
        for key, value in request.form.items():
            if not key.startswith("ship-") or not value.strip():
                continue
            line_id = key.removeprefix("ship-")
            try:
                quantity = Decimal(value.strip())
            except ArithmeticError:
                problems.append(f"quantity {value.strip()!r} is not a number")
                continue
            if not line_id.isdigit() or not quantity.is_finite():
                problems.append(f"quantity {value.strip()!r} is not a number")
            elif quantity:
                quantities[int(line_id)] = quantity
        tracking = request.form.get("tracking", "").strip()[:120] or None
        if problems or not quantities:
            flash("Ship: refused. " + ("; ".join(problems) or "type a quantity to ship on "
                                       "at least one line"), "error")
            return redirect(url_for(".detail", order_id=order_id))
        try:
            order = lifecycle.ship(db.session, order_id, actor=user, quantities=quantities,
                                   tracking=tracking)
        except (TransitionRefused, ValidationFailed) as exc:
            db.session.rollback()
            flash(f"Ship: refused. {_reasons(exc)}", "error")
        else:
            db.session.commit()
            flash(f"Shipped: order {order.number} is now "
                  f"{lifecycle.label(order.status).lower()}.", "success")
        return redirect(url_for(".detail", order_id=order_id))

    @expose("/<int:order_id>/<action>", methods=("POST",))
    def act(self, order_id: int, action: str) -> Any:
        chosen = ACTIONS.get(action)
        if chosen is None:
            abort(404)
        user = _require(chosen.permission)
        reason = request.form.get("reason", "").strip() or None
        try:
            order = chosen.run(db.session, order_id, user, reason)
        except (TransitionRefused, ValidationFailed) as exc:
            db.session.rollback()
            flash(f"{chosen.label}: refused. {_reasons(exc)}", "error")
        else:
            db.session.commit()
            flash(f"{chosen.label}: order {order.number} is now "
                  f"{lifecycle.label(order.status).lower()}.", "success")
        return redirect(url_for(".detail", order_id=order_id))

    def _channels(self) -> list[str]:
        return list(current_registry().parameters.get(db.session, "orders.channels"))

    def _default_channel(self) -> str:
        channels = self._channels()
        return "phone" if "phone" in channels else channels[0]

    def _raw_order(self) -> dict[str, Any]:
        """The new-order form as raw input for :class:`OrderCreateSchema`."""
        form = request.form
        lines = []
        rows = form.get("line_rows", "")
        for index in range(min(int(rows), MAX_LINE_ROWS) if rows.isdigit() else BLANK_LINES):
            product = form.get(f"lines-{index}-product_id", "").strip()
            quantity = form.get(f"lines-{index}-quantity", "").strip()
            discount = form.get(f"lines-{index}-discount_percent", "").strip()
            if not (product or quantity):
                continue
            line: dict[str, Any] = {"product_id": product or None, "quantity": quantity}
            if discount:
                line["discount_percent"] = discount
            lines.append(line)
        raw: dict[str, Any] = {
            "customer_id": form.get("customer_id") or None,
            "channel": form.get("channel", ""),
            "lines": lines,
        }
        if form.get("note", "").strip():
            raw["note"] = form["note"].strip()
        return raw


def line_check(order: Order | None, problems: list[Problem], count: int) -> dict[str, Any]:
    """The order form's check as JSON: per line (in the order sent) its messages and
    total, the order's total, and the problems that belong to no line. Amounts are
    formatted for people in the console's locale."""
    money = current_app.jinja_env.filters["money"]
    lines: list[dict[str, Any]] = [{"messages": [], "total": ""} for _ in range(count)]
    general = []
    for problem in problems:
        found = _LINE_FIELD.match(problem.field)
        message = {"field": problem.field, "message": problem.message,
                   "severity": problem.severity}
        if found and int(found[1]) < count:
            lines[int(found[1])]["messages"].append(message)
        else:
            general.append(message)
    if order is not None:
        for index, line in enumerate(order.lines[:count]):
            lines[index]["total"] = money(line.line_total)
    return {
        "lines": lines,
        "problems": general,
        "subtotal": money(order.subtotal) if order is not None else "",
        "discount": money(order.discount_total) if order is not None else "",
        "total": money(order.total) if order is not None else "",
        "currency": order.currency if order is not None else "",
    }


_LINE_FIELD = re.compile(r"^lines\.(\d+)(?:\.|$)")


def customer_panels(customer_id: Any) -> list[Markup]:
    """The plugins' fragments about a customer for the new-order form (none unknown)."""
    if not str(customer_id or "").isdigit() or len(str(customer_id)) > 9:
        return []
    customer = db.session.get(Customer, int(customer_id))
    if customer is None:
        return []
    found = current_registry().call("erpkit_orders_customer_panel", customer=customer,
                                    session=db.session)
    return [Markup(fragment) for fragment in found or () if fragment]


def _logistics_shipments_url() -> str | None:
    """The logistics module's shipment screens, when it is installed."""
    if "logistics_shipments.index" not in current_app.view_functions:
        return None
    return url_for("logistics_shipments.index")


def _reasons(exc: TransitionRefused | ValidationFailed) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
    who = f" ({exc.plugin})" if exc.plugin else ""
    return f"{exc.message}{who}"


def assets_blueprint() -> Blueprint:
    """The console's scripts for orders (``/orders-assets/...``): no inline script, so the
    pages pass a Content-Security-Policy without ``unsafe-inline``; and the template
    global ``order_status_label(status)`` for every module's pages."""
    blueprint = Blueprint("orders_assets", __name__, static_folder=str(HERE / "static"),
                          static_url_path="/orders-assets")
    # Any module's console page names an order's status as the orders' pages do.
    blueprint.add_app_template_global(lifecycle.label, "order_status_label")
    return blueprint


def admin_views() -> list[AdminView]:
    from erpkit_orders.catalogue_views import catalogue_views

    return [
        AdminView(
            OrdersView,
            "Orders",
            "orders",
            "orders.view",
            category=CATEGORY,
            kwargs={"url": "orders"},
        ),
        *catalogue_views(),
    ]

"""The warehouse's and drivers' console pages: shipments to create, the picking list,
packing, hand-over, delivery, exceptions; trips to plan and run on a tablet.

Every button calls the same functions as the JSON API (:mod:`erpkit_logistics.shipments`,
:mod:`erpkit_logistics.trips`), so the console and the API follow the same rules and
each change is one transaction with the order move it causes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from marshmallow import ValidationError

from erpkit import TransitionRefused
from erpkit.auth import current_user
from erpkit.db import db, utcnow
from erpkit.plugins import current_registry
from erpkit_logistics import picking, shipments, trips
from erpkit_logistics.models import LogisticsShipment, Trip
from erpkit_logistics.schemas import Measure
from erpkit_logistics.tracking import history
from erpkit_orders.models import Order

OPEN = ("picking", "packed", "handed_to_carrier", "in_transit", "out_for_delivery",
        "exception")
#: Lines of the picking list the page shows; the API pages through the rest.
PICK_LINES = 200
#: A package's weight and sizes, read as the API reads them (3 places, ASCII digits).
_MEASURE = Measure()


def _decimal(name: str, required: bool = False) -> Decimal | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        if required:
            raise TransitionRefused(f"{name.replace('_', ' ')} is required", field=name)
        return None
    try:
        value: Decimal = _MEASURE.deserialize(text)
    except ValidationError as exc:
        raise TransitionRefused(f"{name.replace('_', ' ')}: {text!r} is not a number "
                                f"({' '.join(map(str, exc.messages))})", field=name) from None
    if value < 0 or (required and value == 0):
        raise TransitionRefused(f"{name.replace('_', ' ')} must be more than 0", field=name)
    return value


def _attempt(action: Callable[[], Any], done: str) -> None:
    try:
        action()
    except TransitionRefused as exc:
        db.session.rollback()
        flash(f"Not done: {exc.message}", "error")
    else:
        flash(done, "success")


class ShipmentsView(BaseView):
    """Orders to ship, the picking list per warehouse, and each shipment's work."""

    @expose("/")
    def index(self) -> Any:
        session = db.session
        warehouse = request.args.get("warehouse") or str(
            current_registry().parameters.get(session, shipments.DEFAULT_WAREHOUSE))
        waiting = list(session.scalars(
            sa.select(Order).where(Order.status.in_(shipments.SHIPPABLE),
                                   Order.imported_as_history.is_(False))
            .order_by(Order.id).limit(100)))
        held = {order.id: shipments.allocated(session, order.id) for order in waiting}
        to_create = [o for o in waiting
                     if any(line.open_quantity > held[o.id].get(line.id, 0) for line in o.lines)]
        open_shipments = list(session.scalars(
            sa.select(LogisticsShipment).where(LogisticsShipment.status.in_(OPEN)).order_by(LogisticsShipment.id)
            .limit(200)))
        warehouses = sorted({warehouse, *picking.warehouses_with_work(session)})
        pick_lines = picking.picking_list(session, warehouse, limit=PICK_LINES + 1)
        return self.render("logistics/shipments.html", to_create=to_create,
                           shipments=open_shipments, warehouse=warehouse,
                           warehouses=warehouses, pick_lines=pick_lines[:PICK_LINES],
                           more_to_pick=len(pick_lines) > PICK_LINES)

    @expose("/create", methods=("POST",))
    def create(self) -> Any:
        order_id = int(request.form.get("order_id", "0") or 0)
        created: list[LogisticsShipment] = []
        _attempt(lambda: created.append(shipments.create_shipment(
            db.session, current_registry(), order_id, actor=current_user())),
            "LogisticsShipment created: pick its items.")
        if created:
            return redirect(url_for(".detail", shipment_id=created[0].id))
        return redirect(url_for(".index"))

    @expose("/<int:shipment_id>/")
    def detail(self, shipment_id: int) -> Any:
        shipment = db.session.get(LogisticsShipment, shipment_id)
        if shipment is None:
            flash(f"No shipment {shipment_id}.", "error")
            return redirect(url_for(".index"))
        return self.render("logistics/shipment.html", shipment=shipment,
                           events=list(reversed(history(db.session, shipment_id))))

    @expose("/<int:shipment_id>/<action>", methods=("POST",))
    def act(self, shipment_id: int, action: str) -> Any:
        session, user = db.session, current_user()
        actions: dict[str, tuple[Callable[[], Any], str]] = {
            "pick": (lambda: shipments.pick(session, shipment_id, actor=user),
                     "Picked: pack it now."),
            "pack": (lambda: shipments.pack(session, shipment_id, [{
                "weight_kg": _decimal("weight_kg", required=True),
                "length_cm": _decimal("length_cm"), "width_cm": _decimal("width_cm"),
                "height_cm": _decimal("height_cm"),
                "tracking": (request.form.get("tracking") or "").strip()[:120] or None,
            }], actor=user), "Package added."),
            "hand-over": (lambda: shipments.hand_over(session, shipment_id, actor=user),
                          "Handed to the carrier: the order's lines have shipped."),
            "deliver": (lambda: shipments.mark_delivered(session, shipment_id, actor=user),
                        "Marked delivered."),
            "exception": (lambda: shipments.report_exception(
                session, shipment_id, request.form.get("reason", ""), actor=user),
                "Exception recorded."),
            "return": (lambda: shipments.mark_returned(
                session, shipment_id, actor=user,
                reason=request.form.get("reason") or "returned"), "Marked returned."),
        }
        if action not in actions:
            flash(f"Unknown action {action!r}.", "error")
        else:
            _attempt(*actions[action])
        return redirect(url_for(".detail", shipment_id=shipment_id))


class TripsView(BaseView):
    """Plan the day's own-fleet trips; the driver's run sheet with a button per stop."""

    @expose("/")
    def index(self) -> Any:
        day = _day(request.args.get("day"))
        found = list(db.session.scalars(sa.select(Trip).where(Trip.day == day)
                                        .order_by(Trip.id)))
        waiting = trips.waiting_shipments(db.session)
        return self.render("logistics/trips.html", day=day, trips=found, waiting=waiting)

    @expose("/plan", methods=("POST",))
    def plan(self) -> Any:
        day = _day(request.form.get("day"))
        report: list[trips.PlanReport] = []
        _attempt(lambda: report.append(trips.plan_day(db.session, day, actor=current_user())),
                 "Trips planned.")
        for shipment_id, why in (report[0].unplanned if report else []):
            flash(f"LogisticsShipment S-{shipment_id} not planned: {why}", "warning")
        return redirect(url_for(".index", day=day.isoformat()))

    @expose("/<int:trip_id>/")
    def sheet(self, trip_id: int) -> Any:
        try:
            sheet = trips.run_sheet(db.session, trip_id)
        except TransitionRefused as exc:
            flash(exc.message, "error")
            return redirect(url_for(".index"))
        return self.render("logistics/run_sheet.html", sheet=sheet)

    @expose("/<int:trip_id>/start", methods=("POST",))
    def start(self, trip_id: int) -> Any:
        _attempt(lambda: trips.start_trip(db.session, trip_id, actor=current_user()),
                 "Trip started: every stop is out for delivery.")
        return redirect(url_for(".sheet", trip_id=trip_id))

    @expose("/stops/<int:stop_id>/deliver", methods=("POST",))
    def deliver(self, stop_id: int) -> Any:
        trip_id = int(request.form.get("trip_id", "0") or 0)
        _attempt(lambda: trips.deliver_stop(db.session, stop_id, actor=current_user(),
                                            note=request.form.get("note", "")),
                 "Stop delivered.")
        return redirect(url_for(".sheet", trip_id=trip_id))


def _day(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else utcnow().date()
    except ValueError:
        flash(f"{text!r} is not a date (YYYY-MM-DD): showing today.", "warning")
        return utcnow().date()

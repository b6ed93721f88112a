"""JSON endpoints under ``/api/logistics``.

Reading needs ``logistics.view``; working on shipments and trips needs
``logistics.work``. The carrier webhook (``POST /api/logistics/webhooks/<carrier>``)
needs no login: its Standard Webhooks signature, with the carrier's own secret, is its
credential, and a request without a valid one gets 401 and changes nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, jsonify, request

from erpkit.api import Blueprint
from erpkit.auth import permission_required, require_user
from erpkit.db import db
from erpkit.plugins import current_registry
from erpkit.problems import ValidationFailed
from erpkit.schemas import one_page, report_period
from erpkit_logistics import figures, picking, rates, schemas, shipments, trips
from erpkit_logistics.models import LogisticsShipment
from erpkit_logistics.tracking import ingest
from erpkit_logistics.webhooks import SignatureRefused, parse_events, verified_body
from erpkit_orders.models import Order

VIEW = "logistics.view"
WORK = "logistics.work"
WEBHOOK_ENDPOINT = "logistics.post_webhook"


def _shipment_or_404(shipment_id: int) -> LogisticsShipment:
    found = db.session.get(LogisticsShipment, shipment_id)
    if found is None:
        abort(404, f"no shipment {shipment_id}")
    return found


def logistics_blueprint() -> Blueprint:
    """A new blueprint each call, so two apps in one process never share one."""
    blp = Blueprint("logistics", __name__, url_prefix="/api/logistics", permission=VIEW,
                    description="Shipments, packages, picking lists, tracking events, "
                    "shipping quotes, own-fleet trips and figures.")

    @blp.before_app_request
    def _webhooks_skip_csrf() -> None:
        # Carriers sign their requests instead of sending a session's CSRF token. This
        # runs before the core's CSRF check (registered after the plugins' blueprints).
        if request.endpoint == WEBHOOK_ENDPOINT and "csrf" in current_app.extensions:
            view = current_app.view_functions[WEBHOOK_ENDPOINT]
            current_app.extensions["csrf"].exempt(view)

    @blp.get("/shipments")
    @permission_required(VIEW)
    @blp.arguments(schemas.ShipmentQuery, location="query")
    @blp.response(200, schemas.ShipmentPageSchema)
    def get_shipments(args: dict[str, Any]) -> Any:
        """Shipments, newest first, by order, status or warehouse, a page at a time."""
        query = (sa.select(LogisticsShipment).order_by(LogisticsShipment.id.desc())
                 .limit(args["limit"] + 1))
        for name in ("order_id", "status", "warehouse"):
            if args.get(name) is not None:
                query = query.where(getattr(LogisticsShipment, name) == args[name])
        if args.get("before") is not None:
            query = query.where(LogisticsShipment.id < args["before"])
        return one_page(list(db.session.scalars(query)), args["limit"], lambda s: s.id)

    @blp.post("/shipments")
    @permission_required(WORK)
    @blp.arguments(schemas.ShipmentCreateSchema)
    @blp.response(201, schemas.ShipmentSchema)
    def post_shipment(body: dict[str, Any]) -> Any:
        """A shipment of a confirmed order (all that is left to ship unless ``lines``)."""
        if db.session.get(Order, body["order_id"]) is None:
            abort(404, f"no order {body['order_id']}")
        lines = ({item["line_id"]: item["quantity"] for item in body["lines"]}
                 if body["lines"] else None)
        return shipments.create_shipment(
            db.session, current_registry(), body["order_id"], quantities=lines,
            warehouse=body["warehouse"], latitude=body["latitude"],
            longitude=body["longitude"], actor=require_user())

    @blp.get("/shipments/<int:shipment_id>")
    @permission_required(VIEW)
    @blp.response(200, schemas.ShipmentDetailSchema)
    def get_shipment(shipment_id: int) -> Any:
        """One shipment with its items, packages and full event history."""
        return _shipment_or_404(shipment_id)

    @blp.post("/shipments/<int:shipment_id>/pick")
    @permission_required(WORK)
    @blp.response(200, schemas.ShipmentSchema)
    def post_pick(shipment_id: int) -> Any:
        """The items are picked: the pack step starts."""
        _shipment_or_404(shipment_id)
        return shipments.pick(db.session, shipment_id, actor=require_user())

    @blp.post("/shipments/<int:shipment_id>/pack")
    @permission_required(WORK)
    @blp.arguments(schemas.PackSchema)
    @blp.response(200, schemas.ShipmentSchema)
    def post_pack(body: dict[str, Any], shipment_id: int) -> Any:
        """Add the packages (weight, dimensions, tracking number): packed."""
        _shipment_or_404(shipment_id)
        return shipments.pack(db.session, shipment_id, body["packages"], actor=require_user())

    @blp.post("/shipments/<int:shipment_id>/hand-over")
    @permission_required(WORK)
    @blp.response(200, schemas.ShipmentSchema)
    def post_hand_over(shipment_id: int) -> Any:
        """The carrier took it: the order's lines ship in the same transaction."""
        _shipment_or_404(shipment_id)
        return shipments.hand_over(db.session, shipment_id, actor=require_user())

    @blp.post("/shipments/<int:shipment_id>/deliver")
    @permission_required(WORK)
    @blp.arguments(schemas.DeliverSchema)
    @blp.response(200, schemas.ShipmentSchema)
    def post_deliver(body: dict[str, Any], shipment_id: int) -> Any:
        """Delivered; the order is delivered with its last shipment."""
        _shipment_or_404(shipment_id)
        return shipments.mark_delivered(db.session, shipment_id, actor=require_user(),
                                        place=body["place"])

    @blp.post("/shipments/<int:shipment_id>/exception")
    @permission_required(WORK)
    @blp.arguments(schemas.ReasonSchema)
    @blp.response(200, schemas.ShipmentSchema)
    def post_exception(body: dict[str, Any], shipment_id: int) -> Any:
        """Something went wrong on the way; say what."""
        _shipment_or_404(shipment_id)
        return shipments.report_exception(db.session, shipment_id, body["reason"],
                                          actor=require_user())

    @blp.post("/shipments/<int:shipment_id>/return")
    @permission_required(WORK)
    @blp.arguments(schemas.ReasonSchema)
    @blp.response(200, schemas.ShipmentSchema)
    def post_return(body: dict[str, Any], shipment_id: int) -> Any:
        """The goods came back (after delivery, the order is returned)."""
        _shipment_or_404(shipment_id)
        return shipments.mark_returned(db.session, shipment_id, actor=require_user(),
                                       reason=body["reason"])

    @blp.get("/picking-list")
    @permission_required(VIEW)
    @blp.arguments(schemas.PickingQuery, location="query")
    @blp.response(200, schemas.PickPageSchema)
    def get_picking_list(args: dict[str, Any]) -> Any:
        """What to pick in one warehouse, in the order its bins are walked, a page at a
        time."""
        after = None
        if args.get("after") is not None:
            after = picking.position_of(db.session, args["after"])
            if after is None:
                raise ValidationFailed.single(
                    "after", "no such picking line. Fix: pass the `next` of the previous "
                    "page, or leave `after` out to start again", code="bad_cursor")
        lines = picking.picking_list(db.session, args["warehouse"], limit=args["limit"] + 1,
                                     after=after)
        return one_page(lines, args["limit"], lambda line: line.item_id)

    @blp.get("/orders/<int:order_id>/quote")
    @permission_required(VIEW)
    @blp.response(200, schemas.QuoteSchema)
    def get_quote(order_id: int) -> Any:
        """What shipping the order costs, by which service, to which zone, and why."""
        order = db.session.get(Order, order_id)
        if order is None:
            abort(404, f"no order {order_id}")
        default = str(current_registry().parameters.get(db.session, rates.DEFAULT_SERVICE))
        found = rates.quote(db.session, order, default)
        days = (rates.transit_days(db.session, found.service, found.zone)
                if found.service and found.zone else None)
        return {"service": found.service.key if found.service else None,
                "zone": found.zone.code if found.zone else None,
                "weight_kg": found.weight_kg, "price": found.price, "transit_days": days,
                "explanation": found.explanation}

    @blp.post("/webhooks/<carrier>")
    @blp.public  # carriers prove who they are by the signature, checked below
    @blp.response(200, schemas.IngestSchema)
    @blp.alt_response(401, description="Not signed with the carrier's webhook secret.")
    def post_webhook(carrier: str) -> Any:
        """A carrier's tracking events, signed with Standard Webhooks headers."""
        try:
            found, payload = verified_body(db.session, carrier, request.get_data(),
                                           dict(request.headers))
        except SignatureRefused:
            db.session.rollback()
            return jsonify({"message": "signature refused", "code": "bad_signature"}), 401
        events = parse_events(payload, default_id=request.headers.get("webhook-id"))
        return ingest(db.session, found, events).as_dict()

    @blp.post("/trips/plan")
    @permission_required(WORK)
    @blp.arguments(schemas.PlanSchema)
    @blp.response(201, schemas.PlanResultSchema)
    def post_plan(body: dict[str, Any]) -> Any:
        """Group the waiting own-fleet shipments into trips for a day; order the stops."""
        report = trips.plan_day(db.session, body["day"], actor=require_user())
        return {"trips": [trips.run_sheet(db.session, t.id) for t in report.trips],
                "unplanned": [{"shipment_id": sid, "why": why}
                              for sid, why in report.unplanned]}

    @blp.get("/trips/<int:trip_id>")
    @permission_required(VIEW)
    @blp.response(200, schemas.RunSheetSchema)
    def get_trip(trip_id: int) -> Any:
        """The driver's run sheet: stops in order, addresses, packages."""
        return trips.run_sheet(db.session, trip_id)

    @blp.post("/trips/<int:trip_id>/start")
    @permission_required(WORK)
    @blp.arguments(schemas.StartTripSchema)
    @blp.response(200, schemas.RunSheetSchema)
    def post_start(body: dict[str, Any], trip_id: int) -> Any:
        """The van leaves: its shipments are handed over and out for delivery."""
        trips.start_trip(db.session, trip_id, driver=body["driver"], actor=require_user())
        return trips.run_sheet(db.session, trip_id)

    @blp.post("/trips/stops/<int:stop_id>/deliver")
    @permission_required(WORK)
    @blp.arguments(schemas.StopNoteSchema)
    @blp.response(200, schemas.RunSheetSchema)
    def post_stop_delivered(body: dict[str, Any], stop_id: int) -> Any:
        """The driver delivered one stop."""
        stop = trips.deliver_stop(db.session, stop_id, actor=require_user(), note=body["note"])
        return trips.run_sheet(db.session, stop.trip_id)

    @blp.get("/figures")
    @permission_required(VIEW)
    @blp.arguments(schemas.ShippingFiguresQuery, location="query")
    @blp.response(200, schemas.ShippingFiguresSchema(many=True))
    def get_figures(args: dict[str, Any]) -> Any:
        """Order-to-ship and ship-to-delivery days and exceptions, by carrier and zone,
        for a period of at most ``core.max_report_days`` days."""
        first, last = report_period(args.get("start"), args.get("end"))
        return [row.as_dict() for row in figures.figures(
            db.session, first, last, carrier=args.get("carrier"), zone=args.get("zone"))]

    return blp

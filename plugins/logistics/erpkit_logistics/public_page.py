"""The customer's tracking page: ``/tracking/<order number>?token=<public token>``.

It shows each shipment's status, last place, ETA, tracking numbers and history, and
nothing about people: no names, addresses, actors or the carriers' free-text messages
(a carrier may write "signed by ..."). The order is found the way the orders module's
status page finds it (:func:`erpkit_orders.status_page.find_order`: the number plus a
constant-time comparison of the token), so an unknown number and a wrong token get the
same 404.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint as FlaskBlueprint
from flask import make_response, render_template, request
from werkzeug.exceptions import NotFound

from erpkit.api import Blueprint
from erpkit.db import db, utcnow
from erpkit_logistics.models import PUBLIC_LABELS
from erpkit_logistics.schemas import TokenQuery, TrackingPageSchema
from erpkit_logistics.shipments import shipments_of
from erpkit_logistics.tracking import history
from erpkit_orders.lifecycle import PUBLIC_LABELS as ORDER_LABELS
from erpkit_orders.lifecycle import Status
from erpkit_orders.models import Order
from erpkit_orders.status_page import NOT_FOUND, find_order

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


#: What the customer reads for each step of a promise (the staff's text names stock,
#: work centres and suppliers).
PUBLIC_PROMISE_LABELS = {"goods": "Your goods are ready", "cutoff": "Handed to the carrier",
                         "transit": "Delivered", "requested": "Delivered on the day you asked"}


def delivery_promise(number: str) -> dict[str, Any] | None:
    """The order's current promise for the pages' slots (``templates/erpkit_orders``):
    its stage, steps, and the steps a customer reads."""
    from erpkit_logistics.promise_records import current_promise

    order_id = db.session.scalar(sa.select(Order.id).where(Order.number == number))
    row = current_promise(db.session, order_id) if order_id is not None else None
    if row is None:
        return None
    # The steps are stored as JSON (days as ISO text); the page formats days itself.
    goods = [s for s in row.steps if s["kind"] == "goods"]
    public = ([{"label": PUBLIC_PROMISE_LABELS["goods"],
                "day": date.fromisoformat(max(s["day"] for s in goods))}] if goods else [])
    public += [{"label": PUBLIC_PROMISE_LABELS[s["kind"]], "day": date.fromisoformat(s["day"])}
               for s in row.steps if s["kind"] in ("cutoff", "transit", "requested")]
    return {"stage": row.stage, "steps": row.steps, "public_steps": public}


def order_form_promise(order: Order | None) -> dict[str, Any] | None:
    """For the order form's slot: the promise a saved draft's lines get now (a quote,
    nothing booked); ``None`` for a new order, or one with no product lines."""
    from erpkit_logistics.promising import work_out

    if order is None or not any(line.product_id for line in order.lines):
        return None
    worked = work_out(db.session, order, now=utcnow())
    return {"promised_date": worked.promise.promised_date,
            "steps": [step.as_dict() for step in worked.promise.steps]}


def templates_blueprint() -> FlaskBlueprint:
    """Serves no page but its scripts (``/logistics-assets/...``): makes this package's
    templates findable by name, and gives them ``delivery_promise(number)`` and
    ``order_form_promise(order)``."""
    blp = FlaskBlueprint("logistics_templates", __name__, template_folder=str(TEMPLATES),
                         static_folder=str(STATIC), static_url_path="/logistics-assets")
    blp.add_app_template_global(delivery_promise, "delivery_promise")
    blp.add_app_template_global(order_form_promise, "order_form_promise")
    return blp


def public_tracking(order: Order) -> dict[str, Any]:
    """What the customer may see of the order's shipments."""
    found = []
    for shipment in shipments_of(db.session, order.id):
        events = [e for e in history(db.session, shipment.id) if e.status]
        found.append({
            "status": shipment.status, "label": PUBLIC_LABELS[shipment.status],
            "last_place": shipment.last_place, "eta": shipment.eta,
            "tracking": [p.tracking for p in shipment.packages if p.tracking],
            "history": [{"at": e.occurred_at, "status": e.status,
                         "label": PUBLIC_LABELS[str(e.status)], "place": e.place}
                        for e in reversed(events)],
        })
    return {"number": order.number, "order_status": ORDER_LABELS[Status(order.status)],
            "shipments": found}


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def tracking_blueprint() -> Blueprint:
    blp = Blueprint("logistics_tracking", __name__, url_prefix="/tracking", permission=None,
                    description="The customer's shipment tracking page (no login; needs "
                                "the order's public token).")

    @blp.get("/<path:number>")
    @blp.arguments(TokenQuery, location="query")
    @blp.response(200, TrackingPageSchema)
    @blp.alt_response(404, description=NOT_FOUND)
    def public_tracking_page(query: dict[str, Any], number: str) -> Any:
        """Where the order's shipments are, as its customer may see it (HTML for
        browsers)."""
        order = find_order(number, query["token"])
        if order is None:
            if _wants_html():
                return make_response(render_template("erpkit_orders/status_unknown.html"), 404)
            raise NotFound(NOT_FOUND)
        view = public_tracking(order)
        if _wants_html():
            return make_response(render_template("logistics/tracking.html", view=view))
        return view

    return blp

"""The customer's status lookup: order number plus secret token, no login.

It shows the status, the dates, the public timeline and tracking numbers, and nothing
else about the customer or the order. An unknown number, a wrong token and a missing
token all get the very same 404, so the page never tells whether an order exists.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import make_response, render_template, request
from werkzeug.exceptions import NotFound

from erpkit.api import Blueprint
from erpkit.db import db
from erpkit_orders.lifecycle import PUBLIC_LABELS, Status
from erpkit_orders.models import Order
from erpkit_orders.schemas import PublicStatusQuerySchema, PublicStatusSchema
from erpkit_orders.timeline import events

TEMPLATES = Path(__file__).parent / "templates"
NOT_FOUND = "no order with this number and token"
# Compared against when the number is unknown, so both refusals take the same path.
_DECOY_TOKEN = secrets.token_urlsafe(16)


def find_order(number: str, token: str) -> Order | None:
    """The order with ``number`` when ``token`` is its public token, else ``None``.

    An unknown number and a wrong token do the same work, so the response time does not
    tell whether a number exists: one query reading just the id and the token (loading
    the order would load its lines, customer... for a known number only), then one
    constant-time comparison, against a decoy token when the number is unknown. The
    order itself is loaded only once the token matched.
    """
    row = db.session.execute(
        sa.select(Order.id, Order.public_token).where(Order.number == number)).first()
    order_id, expected = row if row is not None else (None, _DECOY_TOKEN)
    matches = hmac.compare_digest(token.encode(), (expected or _DECOY_TOKEN).encode())
    if not matches or order_id is None:
        return None
    return db.session.get(Order, order_id)


def public_view(order: Order) -> dict[str, Any]:
    """What the customer may see. Status entries show the fixed public label, never the
    message staff typed (a rejection reason, an approval rule); notes appear only when a
    plugin marked them public."""
    timeline = [
        {"at": event.at, "status": event.to_status,
         "message": PUBLIC_LABELS[Status(event.to_status)]
         if event.kind == "status" and event.to_status else event.message}
        for event in events(db.session, order.id, public_only=True)
    ]
    return {
        "number": order.number,
        "status": order.status,
        "status_label": PUBLIC_LABELS[Status(order.status)],
        "created": order.created_at,
        "requested_date": order.requested_date,
        "promised_date": order.promised_date,
        "timeline": timeline,
        "tracking": [s.tracking for s in order.shipments if s.tracking],
    }


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def status_blueprint() -> Blueprint:
    blp = Blueprint("orders_status", __name__, url_prefix="/status",
                    template_folder=str(TEMPLATES),
                    description="The customer's order status page (no login; needs the "
                                "order's public token).",
                    permission=None)  # public: the order's token is the key

    @blp.get("/<path:number>")
    @blp.arguments(PublicStatusQuerySchema, location="query")
    @blp.response(200, PublicStatusSchema)
    @blp.alt_response(404, description=NOT_FOUND)
    def public_status(query: dict[str, Any], number: str) -> Any:
        """The status of one order, as its customer may see it (HTML for browsers)."""
        order = find_order(number, query["token"])
        if order is None:
            if _wants_html():
                return make_response(render_template("erpkit_orders/status_unknown.html"), 404)
            raise NotFound(NOT_FOUND)
        view = public_view(order)
        if _wants_html():
            return make_response(render_template("erpkit_orders/status.html", order=view))
        return view

    return blp

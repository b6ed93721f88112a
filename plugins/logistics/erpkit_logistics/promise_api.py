"""The delivery promise over HTTP: ``GET /api/orders/<id>/promise`` (with ``orders.view``),
``POST /api/promise/quote`` for lines not saved yet (``orders.create``: the order
form calls it as lines change), ``POST /api/orders/<id>/promise/revise`` (``logistics.work``)
and ``GET /api/logistics/promise-performance`` (``logistics.view``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort

from erpkit.api import Blueprint
from erpkit.auth import permission_required, require_user
from erpkit.db import db, utcnow
from erpkit.schemas import report_period
from erpkit_logistics import promise_performance, promise_quote, promise_records, schemas
from erpkit_logistics.models import OrderPromise
from erpkit_logistics.promising import work_out
from erpkit_orders.models import Order

#: Orders not confirmed yet: their promise is a quote, worked out when asked.
NOT_CONFIRMED = ("draft", "submitted", "pending_approval", "approved", "rejected")
#: Orders whose goods have not all left: their promise can still be revised.
REVISABLE = ("confirmed", "partially_shipped")


def _record(row: OrderPromise) -> dict[str, Any]:
    return {"stage": row.stage, "promised_date": row.promised_date,
            "hand_over_by": row.hand_over_by, "steps": row.steps, "reason": row.reason,
            "created_at": row.created_at}


def promise_view(order: Order) -> dict[str, Any]:
    """What ``GET /api/orders/<id>/promise`` answers (also the pages' data)."""
    session = db.session
    history = list(session.scalars(sa.select(OrderPromise)
                                   .where(OrderPromise.order_id == order.id)
                                   .order_by(OrderPromise.id)))
    current = next((row for row in reversed(history) if row.current), None)
    quote = None
    if order.status in NOT_CONFIRMED:
        worked = work_out(session, order, now=utcnow())
        quote = {"stage": "quote", "promised_date": worked.promise.promised_date,
                 "hand_over_by": worked.hand_over_by,
                 "steps": [step.as_dict() for step in worked.promise.steps], "reason": "",
                 "created_at": utcnow()}
    return {"order_id": order.id, "number": order.number, "status": order.status,
            "promised_date": order.promised_date,
            "current": _record(current) if current else None, "quote": quote,
            "history": [_record(row) for row in history]}


def promise_blueprint() -> Blueprint:
    """A new blueprint each call, so two apps in one process never share one."""
    blp = Blueprint("logistics_promise", __name__, url_prefix="/api", permission="orders.view",
                    description="Delivery promises: the date, its explanation, revisions "
                    "and how promises were kept.")

    @blp.get("/orders/<int:order_id>/promise")
    @permission_required("orders.view")
    @blp.response(200, schemas.OrderPromiseSchema)
    def get_promise(order_id: int) -> Any:
        """The order's promise with its explanation, step by step; before confirmation,
        a quote worked out now."""
        order = db.session.get(Order, order_id)
        if order is None:
            abort(404, f"no order {order_id}")
        return promise_view(order)

    @blp.post("/promise/quote")
    @permission_required("orders.create")
    @blp.arguments(schemas.QuoteRequestSchema)
    @blp.response(200, schemas.PromiseQuoteSchema)
    def post_quote(body: dict[str, Any]) -> Any:
        """The promise lines not saved yet would get now, step by step: nothing is
        written or booked (the order form shows it as lines are typed)."""
        return promise_quote.as_answer(promise_quote.quote(db.session, body, now=utcnow()))

    @blp.post("/orders/<int:order_id>/promise/revise")
    @permission_required("logistics.work")
    @blp.arguments(schemas.ReviseSchema)
    @blp.response(200, schemas.OrderPromiseSchema)
    def post_revise(body: dict[str, Any], order_id: int) -> Any:
        """Work a confirmed order's promise out again; a moved date is told to the
        customer with ``reason``."""
        order = db.session.get(Order, order_id)
        if order is None:
            abort(404, f"no order {order_id}")
        if order.status not in REVISABLE:
            abort(409, f"order {order.number} is {order.status}: only the promise of a "
                  "confirmed order not yet shipped is revised.")
        revised = promise_records.revise(db.session, order_id, body["reason"],
                                         actor=require_user())
        return promise_view(revised or order)

    @blp.get("/logistics/promise-performance")
    @permission_required("logistics.view")
    @blp.arguments(schemas.PerformanceQuery, location="query")
    @blp.response(200, schemas.KeptSchema(many=True))
    def get_performance(args: dict[str, Any]) -> Any:
        """On-time rate and average lateness of promises, over all orders or by
        carrier, zone, warehouse or product, for a period of at most
        ``core.max_report_days`` days (by default the longest, up to today)."""
        since, until = report_period(args["since"], args["until"], default_days=None,
                                     names=("since", "until"))
        return [kept.as_dict() for kept in promise_performance.promise_performance(
            db.session, args["by"], since=since, until=until)]

    return blp

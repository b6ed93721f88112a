"""An order's API answer is built without marshmallow's dump (erpkit_orders.answer: the
dump and the lazy loads before it were a sixth of the request path); these tests hold it
to the documented schema's dump, for an order in every status its life passes through,
so the two cannot drift apart."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from erpkit.db import db
from erpkit_orders.answer import order_answer
from erpkit_orders.models import Order
from erpkit_orders.schemas import OrderSchema

from .conftest import order_body


def _answered(app: Flask, order_id: int, *, built: bool = False, **transient: Any) -> Any:
    """The order read afresh, with ``transient`` attributes set, through JSON as the API
    sends it: the schema's dump, or (``built``) :func:`order_answer` of it expired."""
    with app.app_context(), app.test_request_context():
        session = db.session
        order = session.get(Order, order_id)
        for name, value in transient.items():
            setattr(order, name, value)
        if built:
            session.commit()  # expired, as after a move: only its identity is used
            answer = order_answer(session, order)
        else:
            answer = OrderSchema().dump(order)
        session.rollback()
    return json.loads(json.dumps(answer))


def _dumped(app: Flask, order_id: int, **transient: Any) -> Any:
    return _answered(app, order_id, **transient)


def test_every_answer_of_an_order_s_life_is_the_schema_s_dump(app, sales, admin, catalogue):
    body = order_body(catalogue, note="ring twice", external_ref="PO-77",
                      requested_date="2031-05-04", ship_to_name="Ada's warehouse",
                      ship_to_city="Leeds", ship_to_country="GB",
                      lines=[{"sku": "W-1", "quantity": "3"},
                             {"sku": "BOX-6", "quantity": "12", "discount_percent": "12.5"}])
    answers = [sales.post("/api/orders", json=body)]
    order_id = answers[0].json["id"]
    first_line = answers[0].json["lines"][0]["id"]
    answers.append(sales.patch(f"/api/orders/{order_id}", json={"note": "ring once"}))
    answers.append(sales.post(f"/api/orders/{order_id}/submit"))
    answers.append(admin.post(f"/api/orders/{order_id}/ship", json={
        "tracking": "TRK-1", "lines": [{"line_id": first_line, "quantity": "1"}]}))
    answers.append(admin.post(f"/api/orders/{order_id}/ship", json={"tracking": "TRK-2"}))
    answers.append(admin.post(f"/api/orders/{order_id}/deliver"))
    answers.append(admin.post(f"/api/orders/{order_id}/return", json={"reason": "broken"}))
    final = _dumped(app, order_id)
    fetched = sales.get(f"/api/orders/{order_id}")

    assert [answer.status_code for answer in answers] == [201, 200, 200, 200, 200, 200, 200]
    assert [answer.json["status"] for answer in answers[2:]] == [
        "confirmed", "partially_shipped", "shipped", "delivered", "returned"]
    assert answers[-1].json == final
    assert fetched.json == final and fetched.headers["ETag"] == f'"{final["version"]}"'
    assert len(final["shipments"]) == 2 and len(final["timeline"]) >= 6
    assert final["lines"][1]["discount_percent"] == "12.5000"


def test_an_answer_after_each_move_equals_the_dump_read_after_it(app, sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    assert order == _dumped(app, order["id"])

    submitted = sales.post(f"/api/orders/{order['id']}/submit").json
    assert submitted == _dumped(app, order["id"])

    cancelled = sales.post(f"/api/orders/{order['id']}/cancel", json={"reason": "late"}).json
    assert cancelled == _dumped(app, order["id"]) and cancelled["allowed_moves"] == []


@pytest.mark.parametrize("transient", [
    {"warnings": [{"code": "confirmation_refused", "message": "short", "plugin": "stockist",
                   "refusal_code": "short", "field": "lines.0.quantity"},
                  {"code": "confirmation_refused", "message": "no plugin said"}]},
    {"held": {"code": "held", "gate": "ship", "from_status": "confirmed",
              "to_status": "shipped", "message": "waits for approval", "requests": [7, None]}},
    {"held": {"code": "held", "gate": "cancel", "message": "only some keys"}},
])
def test_the_warnings_and_the_held_move_a_call_left_are_answered_as_dumped(
        app, sales, catalogue, transient):
    order = sales.post("/api/orders", json=order_body(catalogue)).json

    built = _answered(app, order["id"], built=True, **transient)

    assert built == _dumped(app, order["id"], **transient)


def test_the_answer_reads_four_tables_once_each_and_loads_no_orm_objects(app, sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    with app.app_context(), app.test_request_context():
        session = db.session
        seen: list[str] = []
        engine = db.engine

        def record(_conn, _cursor, statement, _params, _context, _many):
            seen.append(" ".join(statement.split()[:4]).upper())

        expired = session.get(Order, order["id"])
        session.commit()
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            order_answer(session, expired)
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        identity_map = list(session.identity_map.values())
        session.rollback()

    reads = [s for s in seen if s.startswith("SELECT")]
    ours = [s.split()[1].split(".")[0] for s in reads if "CORE_CACHE_GENERATION" not in s]
    assert ours == ["ORDERS_ORDER", "ORDERS_ORDER_LINE", "ORDERS_SHIPMENT",
                    "ORDERS_TIMELINE_EVENT"], seen
    assert len(reads) - len(ours) <= 1  # the set-up cache's check (cancellable statuses)
    assert all(isinstance(obj, Order) for obj in identity_map)  # nothing new loaded

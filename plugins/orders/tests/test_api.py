"""The orders JSON API through the real HTTP app: intake, lifecycle, listing, refusals."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import erpkit
from erpkit.db import db
from erpkit_orders.models import Order, TimelineEvent

from .conftest import order_body


def test_an_order_walks_the_whole_lifecycle_with_the_timeline_recording_each_step(
        as_role, sales, catalogue):
    created = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "4"}, {"sku": "BOX-6", "quantity": "12"}]))
    assert created.status_code == 201, created.json
    order = created.json
    assert (order["status"], order["total"], order["number"][:3]) == ("draft", "74.00", "SO-")
    path = f"/api/orders/{order['id']}"
    widget_line, bottle_line = order["lines"]

    submitted = sales.post(f"{path}/submit")
    assert submitted.json["status"] == "confirmed"  # no rule holds it; auto-confirmed
    assert submitted.json["promised_date"]
    warehouse = as_role("warehouse")
    part = warehouse.post(f"{path}/ship", json={
        "lines": [{"line_id": bottle_line["id"], "quantity": "6"}], "tracking": "TRK-1"})
    assert part.json["status"] == "partially_shipped", part.json
    rest = warehouse.post(f"{path}/ship", json={"tracking": "TRK-2"})
    assert rest.json["status"] == "shipped"
    assert [line["shipped_quantity"] for line in rest.json["lines"]] == ["4.000", "12.000"]
    logistics = as_role("logistics")
    assert logistics.post(f"{path}/deliver").json["status"] == "delivered"
    closed = logistics.post(f"{path}/close")
    assert closed.status_code == 200 and closed.json["status"] == "closed"

    fetched = sales.get(path).json
    steps = [(e["to_status"], e["actor"]) for e in fetched["timeline"] if e["kind"] == "status"]
    assert steps == [("draft", "sales"), ("submitted", "sales"), ("approved", "sales"),
                     ("confirmed", "sales"), ("partially_shipped", "warehouse"),
                     ("shipped", "warehouse"), ("delivered", "logistics"), ("closed", "logistics")]
    assert [s["tracking"] for s in fetched["shipments"]] == ["TRK-1", "TRK-2"]
    assert widget_line["sku"] == "W-1" and fetched["allowed_moves"] == []


def test_a_delivered_order_can_come_back_and_be_closed(as_role, sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    path = f"/api/orders/{order['id']}"
    sales.post(f"{path}/submit")
    as_role("warehouse").post(f"{path}/ship")
    logistics = as_role("logistics")
    logistics.post(f"{path}/deliver")

    returned = logistics.post(f"{path}/return", json={"reason": "arrived damaged"})
    assert returned.json["status"] == "returned"
    assert returned.json["timeline"][-1]["message"] == "arrived damaged"
    assert logistics.post(f"{path}/close").json["status"] == "closed"


def test_a_draft_can_be_cancelled_with_a_reason(sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json

    cancelled = sales.post(f"/api/orders/{order['id']}/cancel",
                           json={"reason": "customer called"})

    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["timeline"][-1]["message"] == "customer called"


def test_a_draft_changes_through_patch_and_its_totals_follow(sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json

    changed = sales.patch(f"/api/orders/{order['id']}", json={
        "lines": [{"sku": "W-1", "quantity": "2", "discount_percent": "10"}],
        "note": "leave at the gate"})

    assert changed.status_code == 200, changed.json
    assert (changed.json["total"], changed.json["note"]) == ("22.50", "leave at the gate")
    assert changed.json["timeline"][-1]["kind"] == "edit"


def test_an_order_names_its_carrier_and_ship_to_address_on_create_and_patch(sales, catalogue):
    made = sales.post("/api/orders", json={
        **order_body(catalogue), "carrier": "PX/standard", "ship_to_name": "Dock 4",
        "ship_to_city": "Lyon", "ship_to_country": "FR"})
    assert made.status_code == 201, made.json
    assert (made.json["carrier"], made.json["ship_to_city"]) == ("PX/standard", "Lyon")

    bad = sales.patch(f"/api/orders/{made.json['id']}", json={
        "carrier": "PX/express", "ship_to_country": "France"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json["errors"]] == ["ship_to_country"]
    assert sales.get(f"/api/orders/{made.json['id']}").json["carrier"] == "PX/standard"

    changed = sales.patch(f"/api/orders/{made.json['id']}", json={"carrier": "PX/express"})
    assert changed.status_code == 200, changed.json
    assert (changed.json["carrier"], changed.json["ship_to_name"]) == ("PX/express", "Dock 4")


def test_a_confirmed_order_cannot_be_changed(sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")

    refused = sales.patch(f"/api/orders/{order['id']}", json={"note": "too late"})

    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "status"


def test_an_empty_patch_is_refused(sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json

    assert sales.patch(f"/api/orders/{order['id']}", json={}).status_code == 422


# --- refusals of bad input ----------------------------------------------------------------

INVALID = {
    "unknown product": ({"lines": [{"sku": "NOPE", "quantity": "1"}]}, 422, "lines.0.sku"),
    "inactive product": ({"lines": [{"sku": "OLD-1", "quantity": "1"}]}, 422, "lines.0.sku"),
    "unknown product id": ({"lines": [{"product_id": 99999, "quantity": "1"}]}, 422,
                           "lines.0.product_id"),
    "no product named": ({"lines": [{"quantity": "1"}]}, 422, "lines.0.sku"),
    "quantity below minimum": ({"lines": [{"sku": "BOX-6", "quantity": "3"}]}, 422,
                               "lines.0.quantity"),
    "quantity above maximum": ({"lines": [{"sku": "W-1", "quantity": "101"}]}, 422,
                               "lines.0.quantity"),
    "quantity not a pack multiple": ({"lines": [{"sku": "BOX-6", "quantity": "8"}]}, 422,
                                     "lines.0.quantity"),
    "quantity zero": ({"lines": [{"sku": "W-1", "quantity": "0"}]}, 422, "lines.0.quantity"),
    "negative price": ({"lines": [{"sku": "W-1", "quantity": "1", "unit_price": "-1"}]}, 422,
                       "lines.0.unit_price"),
    "discount above 100": ({"lines": [{"sku": "W-1", "quantity": "1",
                                       "discount_percent": "120"}]}, 422,
                           "lines.0.discount_percent"),
    "empty order": ({"lines": []}, 422, "lines"),
    "no lines at all": ({"lines": None}, 422, "lines"),
    "unknown customer": ({"customer_id": 99999}, 422, "customer_id"),
    "bad channel": ({"channel": "carrier-pigeon"}, 422, "channel"),
    "bad currency": ({"currency": "euro"}, 422, "currency"),
    "quantity not a number": ({"lines": [{"sku": "W-1", "quantity": "lots"}]}, 422,
                              "lines.0.quantity"),
    "customer id not a number": ({"customer_id": "ada"}, 422, "customer_id"),
    "lines not a list": ({"lines": "W-1 x 4"}, 422, "lines"),
    "date not a date": ({"requested_date": "next tuesday"}, 422, "requested_date"),
    "unknown field": ({"colour": "red"}, 422, "colour"),
}


@pytest.mark.parametrize(("change", "status", "field"), INVALID.values(), ids=INVALID.keys())
def test_bad_input_gets_a_4xx_naming_the_field_and_creates_nothing(
        app, sales, catalogue, change, status, field):
    body = order_body(catalogue, **change)
    if change.get("lines", "") is None:
        del body["lines"]

    refused = sales.post("/api/orders", json=body)

    assert refused.status_code == status, refused.json
    assert field in [error["field"] for error in refused.json["errors"]], refused.json
    assert all(error["message"] for error in refused.json["errors"])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_every_problem_of_an_order_is_reported_at_once_with_its_line(sales, catalogue):
    refused = sales.post("/api/orders", json=order_body(catalogue, lines=[
        {"sku": "W-1", "quantity": "1"}, {"sku": "BOX-6", "quantity": "3"},
        {"sku": "W-1", "quantity": "1", "unit_price": "-5"}]))

    assert refused.status_code == 422
    assert [(e["field"], e["line"], e["code"]) for e in refused.json["errors"]] == [
        ("lines.1.quantity", 2, "quantity_below_minimum"),
        ("lines.2.unit_price", 3, "negative_price")]


def test_malformed_json_gets_a_400_with_an_error_list(sales, catalogue):
    refused = sales.post("/api/orders", data='{"customer_id": 1, "lines": [',
                         content_type="application/json")

    assert refused.status_code == 400
    assert refused.json["errors"][0]["message"] == "Invalid JSON body."


def test_field_errors_have_the_same_shape_whoever_finds_them(sales, catalogue):
    by_schema = sales.post("/api/orders", json=order_body(catalogue, customer_id="x")).json
    by_intake = sales.post("/api/orders", json=order_body(catalogue, customer_id=99999)).json

    assert set(by_schema) == set(by_intake) == {"message", "code", "errors"}
    assert by_schema["code"] == by_intake["code"]
    assert set(by_schema["errors"][0]) >= {"field", "message", "code"}
    assert set(by_intake["errors"][0]) >= {"field", "message", "code"}


# --- illegal transitions ----------------------------------------------------------------


def _row_and_timeline(app, order_id):
    with app.app_context():
        row = db.session.execute(sa.select(Order.__table__).where(Order.id == order_id)).one()
        timeline = db.session.execute(sa.select(TimelineEvent.__table__).where(
            TimelineEvent.order_id == order_id).order_by(TimelineEvent.id)).all()
        return row._asdict(), [event._asdict() for event in timeline]


def test_an_illegal_transition_is_refused_and_the_row_is_unchanged(app, as_role, sales,
                                                                   catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    before = _row_and_timeline(app, order["id"])

    refused = as_role("logistics").post(f"/api/orders/{order['id']}/deliver")

    assert refused.status_code == 409
    assert refused.json["code"] == "not_allowed"
    assert "cannot go from draft to delivered" in refused.json["message"]
    assert _row_and_timeline(app, order["id"]) == before


def test_a_shipped_order_cannot_be_cancelled_and_stays_as_it_was(app, as_role, sales,
                                                                  catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    as_role("warehouse").post(f"/api/orders/{order['id']}/ship")
    before = _row_and_timeline(app, order["id"])

    refused = sales.post(f"/api/orders/{order['id']}/cancel", json={"reason": "oops"})

    assert refused.status_code == 409
    assert "cannot be cancelled while shipped" in refused.json["message"]
    assert _row_and_timeline(app, order["id"]) == before


def test_shipping_more_than_is_open_is_refused(app, as_role, sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    before = _row_and_timeline(app, order["id"])

    refused = as_role("warehouse").post(f"/api/orders/{order['id']}/ship", json={
        "lines": [{"line_id": order["lines"][0]["id"], "quantity": "5"}]})

    assert refused.status_code == 409
    assert refused.json["field"].endswith(".quantity")
    assert _row_and_timeline(app, order["id"]) == before


def test_an_unknown_order_is_a_404(sales):
    assert sales.get("/api/orders/424242").status_code == 404
    assert sales.post("/api/orders/424242/submit").status_code == 404


def test_everything_not_found_answers_one_shape(sales):
    for path, what, field in [("/api/orders/424242", "order", "order"),
                              ("/api/products/424242", "product", "product"),
                              ("/api/customers/424242", "customer", "customer")]:
        missing = sales.get(path)
        assert (missing.status_code, missing.json) == (404, {
            "message": f"no {what} 424242", "code": "not_found", "field": field}), path
    moved = sales.post("/api/orders/424242/cancel", json={})
    assert (moved.status_code, moved.json) == (404, {
        "message": "no order 424242", "code": "not_found", "field": "order"})


def test_a_move_of_an_order_deleted_meanwhile_is_a_404_not_a_conflict(app):
    from erpkit_orders import lifecycle

    with app.app_context(), pytest.raises(erpkit.NotFound) as missing:
        lifecycle.deliver(db.session, 424242)
    assert (missing.value.status_code, missing.value.as_dict()) == (404, {
        "message": "no order 424242", "code": "not_found", "field": "order"})


# --- idempotency ------------------------------------------------------------------------


def test_the_same_idempotency_key_twice_gives_one_order(app, as_role, sales, catalogue):
    key = {"Idempotency-Key": "retry-7f3a"}

    first = sales.post("/api/orders", json=order_body(catalogue), headers=key)
    again = sales.post("/api/orders", json=order_body(catalogue), headers=key)
    other = sales.post("/api/orders", json=order_body(catalogue),
                       headers={"Idempotency-Key": "retry-0000"})

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json["id"] == first.json["id"] != other.json["id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 2


def test_an_idempotency_key_belongs_to_the_user_who_sent_it(as_role, sales, catalogue):
    key = {"Idempotency-Key": "mine"}
    first = sales.post("/api/orders", json=order_body(catalogue), headers=key)

    theirs = as_role("admin").post("/api/orders", json=order_body(catalogue), headers=key)

    assert theirs.status_code == 201 and theirs.json["id"] != first.json["id"]


def test_an_overlong_idempotency_key_is_refused(sales, catalogue):
    refused = sales.post("/api/orders", json=order_body(catalogue),
                         headers={"Idempotency-Key": "k" * 81})

    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "Idempotency-Key"


# --- listing ----------------------------------------------------------------------------


def test_orders_are_listed_newest_first_a_page_at_a_time(sales, catalogue):
    ids = [sales.post("/api/orders", json=order_body(catalogue)).json["id"] for _ in range(5)]

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2} | ({"after": cursor} if cursor else {})
        page = sales.get("/api/orders", query_string=query).json
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break

    assert seen == sorted(ids, reverse=True)
    assert pages == 3


def test_orders_are_filtered_by_status_channel_customer_and_date(sales, catalogue):
    web = sales.post("/api/orders", json=order_body(catalogue)).json
    phone = sales.post("/api/orders", json=order_body(catalogue, channel="phone")).json
    bob = sales.post("/api/orders", json=order_body(
        catalogue, customer_id=catalogue.other_customer)).json
    sales.post(f"/api/orders/{phone['id']}/submit")

    def ids(**query):
        response = sales.get("/api/orders", query_string=query)
        assert response.status_code == 200, response.json
        return {item["id"] for item in response.json["items"]}

    today = web["created_at"][:10]
    assert ids(status="confirmed") == {phone["id"]}
    assert ids(status=["draft", "confirmed"]) == {web["id"], phone["id"], bob["id"]}
    assert ids(channel="phone") == {phone["id"]}
    assert ids(customer_id=catalogue.other_customer) == {bob["id"]}
    assert ids(created_from=today, created_to=today) == {web["id"], phone["id"], bob["id"]}
    assert ids(created_to="2000-01-01") == set()
    assert ids(number=web["number"]) == {web["id"]}


def test_a_misspelt_filter_is_refused_not_ignored(sales):
    refused = sales.get("/api/orders", query_string={"stauts": "draft"})

    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "stauts"


def test_listing_never_counts_the_whole_table(app, sales, catalogue):
    for _ in range(3):
        sales.post("/api/orders", json=order_body(catalogue))
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        sales.get("/api/orders", query_string={"limit": 2})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)

    order_queries = [s for s in statements if "orders_order" in s]
    assert order_queries and not any("count(" in s.lower() for s in order_queries)


# --- permissions --------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "method", "path"), [
    ("analyst", "POST", "/api/orders"),
    ("warehouse", "POST", "/api/orders/{id}/submit"),
    ("analyst", "POST", "/api/orders/{id}/cancel"),
    ("sales", "POST", "/api/orders/{id}/ship"),
    ("analyst", "POST", "/api/orders/{id}/deliver"),
    ("warehouse", "PATCH", "/api/orders/{id}"),
    ("warehouse", "POST", "/api/products"),
    ("logistics", "POST", "/api/customers"),
    ("analyst", "POST", "/api/orders/import"),
])
def test_a_role_without_the_permission_gets_403_and_nothing_changes(
        app, as_role, sales, catalogue, role, method, path):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    before = _row_and_timeline(app, order["id"])

    refused = as_role(role).open(method, path.format(id=order["id"]), json={})

    assert refused.status_code == 403
    assert "permission" in refused.json["message"]
    assert _row_and_timeline(app, order["id"]) == before


def test_nobody_logged_in_is_refused(app, client, catalogue):
    assert client.get("/api/orders").status_code == 401
    # A write without a bearer token is a cookie request: the CSRF check refuses it first.
    refused = client.post("/api/orders", json=order_body(catalogue))
    assert refused.status_code in (400, 401)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_every_role_may_read_orders(as_role, sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json

    for role in ("approver", "warehouse", "logistics", "analyst"):
        assert as_role(role).get(f"/api/orders/{order['id']}").status_code == 200


# --- catalogue and customers --------------------------------------------------------------


def test_products_are_created_listed_and_fetched(sales, catalogue):
    created = sales.post("/api/products", json={
        "sku": "NEW-1", "name": "New thing", "unit_price": "3.5", "pack_size": "2",
        "category": "misc"})
    assert created.status_code == 201, created.json
    assert (created.json["unit_price"], created.json["min_quantity"]) == ("3.5000", "1.000")

    fetched = sales.get(f"/api/products/{created.json['id']}").json
    assert fetched["sku"] == "NEW-1"
    first = sales.get("/api/products", query_string={"limit": 2}).json
    second = sales.get("/api/products", query_string={"limit": 2, "after": first["next"]}).json
    assert [p["sku"] for p in first["items"] + second["items"]] == [
        "W-1", "BOX-6", "OLD-1", "NEW-1"]
    assert second["next"] is None
    only = sales.get("/api/products", query_string={"category": "misc"}).json
    assert [p["sku"] for p in only["items"]] == ["NEW-1"]


@pytest.mark.parametrize(("body", "field"), [
    ({"sku": "W-1", "name": "Twin", "unit_price": "1"}, "sku"),
    ({"sku": "N-2", "name": "Free", "unit_price": "-1"}, "unit_price"),
    ({"sku": "N-3", "name": "Odd", "unit_price": "1", "min_quantity": "5",
      "max_quantity": "2"}, "max_quantity"),
    ({"name": "No sku", "unit_price": "1"}, "sku"),
])
def test_a_bad_product_is_refused_naming_the_field(sales, catalogue, body, field):
    refused = sales.post("/api/products", json=body)

    assert refused.status_code == 422
    assert field in [e["field"] for e in refused.json["errors"]]


def test_customers_are_created_with_addresses_listed_and_fetched(sales, catalogue):
    created = sales.post("/api/customers", json={
        "name": "Cleo SA", "email": "cleo@example.com", "country": "FR",
        "addresses": [{"line1": "1 rue Haute", "city": "Lyon", "country": "FR"}]})
    assert created.status_code == 201, created.json

    fetched = sales.get(f"/api/customers/{created.json['id']}").json
    assert fetched["addresses"][0]["city"] == "Lyon"
    french = sales.get("/api/customers", query_string={"country": "FR"}).json
    assert [c["name"] for c in french["items"]] == ["Cleo SA"]
    assert sales.get("/api/customers/99999").status_code == 404


def test_a_bad_customer_is_refused_naming_the_field(sales):
    refused = sales.post("/api/customers", json={
        "name": "Dora", "email": "not-an-email",
        "addresses": [{"line1": "x", "city": "y", "country": "France"}]})

    assert refused.status_code == 422
    assert {e["field"] for e in refused.json["errors"]} == {"email", "addresses.0.country"}


def test_the_endpoints_are_in_the_openapi_spec(client):
    spec = client.get("/api/openapi.json").json

    # the document lists the versioned paths (the /api ones are aliases)
    assert {"/api/v1/orders", "/api/v1/orders/{order_id}", "/api/v1/orders/{order_id}/ship",
            "/api/v1/orders/import", "/api/v1/products", "/api/v1/customers",
            "/status/{number}"} <= set(spec["paths"])
    assert "orders.Order" in spec["components"]["schemas"]  # prefixed by its plugin
    create = spec["paths"]["/api/v1/orders"]["post"]
    assert {"200", "201"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])


def test_a_shipment_names_each_line_once_and_at_least_one(as_role, sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    warehouse = as_role("warehouse")
    line = order["lines"][0]["id"]

    empty = warehouse.post(f"/api/orders/{order['id']}/ship", json={"lines": []})
    twice = warehouse.post(f"/api/orders/{order['id']}/ship", json={"lines": [
        {"line_id": line, "quantity": "1"}, {"line_id": line, "quantity": "1"}]})

    assert (empty.status_code, twice.status_code) == (422, 422)
    assert sales.get(f"/api/orders/{order['id']}").json["status"] == "confirmed"


def test_bearer_token_writes_need_no_csrf_token_while_the_check_is_on(app, sales, catalogue):
    assert app.config["WTF_CSRF_ENABLED"]

    created = sales.post("/api/orders", json=order_body(catalogue))

    assert created.status_code == 201

"""Orders refuse what they cannot hold, and the status page tells nothing by its timing:
numbers in ASCII digits within the columns' scale, bounded lines and notes, days the
code can count with, and the same work for an unknown number as for a wrong token."""

from __future__ import annotations

import statistics
import time

import pytest
import sqlalchemy as sa

from erpkit.db import db

from .conftest import order_body


def fields_of(response) -> list[str]:
    return [e["field"] for e in response.json["errors"]]


@pytest.mark.parametrize("quantity", [
    "\u0663", "\uff13", "1e3", "Infinity", "NaN", " ", "1,5", True])
def test_a_quantity_not_in_ascii_decimal_digits_is_refused(sales, catalogue, quantity):
    response = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": quantity}]))

    assert response.status_code == 422, response.json
    assert fields_of(response) == ["lines.0.quantity"]


def test_a_quantity_as_a_json_float_is_refused_naming_the_fix(sales, catalogue):
    response = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": 2.5}]))

    assert response.status_code == 422
    assert "12.50" in response.json["errors"][0]["message"]


def test_a_unit_price_with_more_than_four_decimals_is_refused(sales, catalogue):
    response = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "1", "unit_price": "0.00001"}]))

    assert response.status_code == 422
    [problem] = response.json["errors"]
    assert problem["field"] == "lines.0.unit_price"
    assert "4 decimal places" in problem["message"]


def test_four_decimals_of_price_and_three_of_quantity_are_kept_exactly(sales, catalogue):
    response = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "BOX-6", "quantity": "12.000", "unit_price": "0.0001"}]))

    assert response.status_code == 201, response.json
    [line] = response.json["lines"]
    assert (line["quantity"], line["unit_price"]) == ("12.000", "0.0001")


def test_a_quantity_with_four_decimals_is_refused(sales, catalogue):
    response = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "1.0001"}]))

    assert response.status_code == 422
    assert "3 decimal places" in response.json["errors"][0]["message"]


def test_an_order_with_more_lines_than_the_parameter_allows_is_refused(sales, admin,
                                                                        catalogue):
    assert admin.put("/api/settings/orders.max_lines_per_order",
                     json={"value": 3}).status_code == 200
    response = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "1"}] * 4))

    assert response.status_code == 422
    [problem] = response.json["errors"]
    assert (problem["field"], problem["code"]) == ("lines", "too_many_lines")


def test_ten_thousand_lines_are_refused_by_default(sales, catalogue):
    response = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "1"}] * 10_000))

    assert response.status_code == 422
    assert fields_of(response) == ["lines"]


def test_a_note_longer_than_the_parameter_allows_is_refused(sales, catalogue):
    response = sales.post("/api/orders", json=order_body(catalogue, note="x" * 4001))

    assert response.status_code == 422
    assert fields_of(response) == ["note"]
    assert sales.post("/api/orders", json=order_body(catalogue, note="x" * 4000)
                      ).status_code == 201


def test_a_ten_megabyte_note_is_refused_at_the_door(sales, catalogue):
    response = sales.post("/api/orders", json=order_body(catalogue, note="x" * 10_000_000))

    assert response.status_code == 413


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "10000-01-01"])
def test_a_day_outside_the_years_erpkit_counts_is_a_422_naming_it(sales, day):
    response = sales.get("/api/orders", query_string={"created_to": day})

    assert response.status_code == 422
    assert fields_of(response) == ["created_to"]


def test_the_last_day_erpkit_counts_is_accepted(sales):
    assert sales.get("/api/orders", query_string={"created_to": "2999-12-31"}
                     ).status_code == 200


def test_a_requested_date_outside_the_range_is_refused(sales, catalogue):
    response = sales.post("/api/orders", json=order_body(catalogue,
                                                         requested_date="9999-12-31"))

    assert response.status_code == 422
    assert fields_of(response) == ["requested_date"]


def test_a_nul_in_the_status_path_is_refused_not_a_database_error(client):
    for accept in ("application/json", "text/html"):
        response = client.get("/status/a%00b", headers={"Accept": accept})
        assert response.status_code in (404, 422)


# -- the status page's timing --------------------------------------------------------------


def _statements_of(app, client, path: str, token: str) -> tuple[int, list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path, query_string={"token": token},
                              headers={"Accept": "application/json"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return response.status_code, [s for s in seen if "orders_order" in s]


def test_an_unknown_number_and_a_wrong_token_do_the_same_database_work(app, client, sales,
                                                                       catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json

    unknown = _statements_of(app, client, "/status/SO-0000-000000", order["public_token"])
    wrong = _statements_of(app, client, f"/status/{order['number']}", "not-the-token")

    assert unknown[0] == wrong[0] == 404
    assert len(unknown[1]) == len(wrong[1]) == 1
    assert unknown[1] == wrong[1]  # the very same statement


def test_an_unknown_number_and_a_wrong_token_take_about_the_same_time(client, sales,
                                                                      catalogue):
    order = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "1"}] * 20)).json

    def elapsed_ms(number: str, token: str) -> float:
        start = time.perf_counter()
        client.get(f"/status/{number}", query_string={"token": token},
                   headers={"Accept": "application/json"})
        return (time.perf_counter() - start) * 1000

    elapsed_ms("SO-0000-000000", "x")  # warm up
    # the two refusals alternate, so a busy spell of the machine (CI runs the SQLite and
    # PostgreSQL suites side by side) slows both series alike instead of one
    pairs = [(elapsed_ms("SO-0000-000000", order["public_token"]),
              elapsed_ms(order["number"], "not-the-token")) for _ in range(60)]
    unknown = statistics.median(u for u, _ in pairs)
    wrong = statistics.median(w for _, w in pairs)

    assert 0.5 < wrong / unknown < 2, (unknown, wrong)

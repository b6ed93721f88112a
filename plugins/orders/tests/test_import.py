"""Importing orders from CSV, through the endpoint and the command line."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit_orders.models import Order

HEADER = "order_number,customer_email,channel,sku,quantity,unit_price,discount_percent," \
         "requested_date\n"
GOOD_AND_BAD = HEADER + """\
A-1,ada@example.com,web,W-1,4,,,2031-01-10
A-1,ada@example.com,web,BOX-6,12,1.50,10,2031-01-10
B-2,bob@example.com,,W-1,1,,,
C-3,ada@example.com,,W-1,1,,,
C-3,ada@example.com,,BOX-6,7,,,
D-4,nobody@example.com,,W-1,1,,,
G-7,ada@example.com,,W-1,2,,,
E-5,ada@example.com,,W-1,lots,,,
G-7,ada@example.com,,BOX-6,6,,,
F-6,ada@example.com,,NOPE,1,,,
H-8,bob@example.com,phone,W-1,3,,,
"""
GOOD = {"A-1", "B-2", "G-7", "H-8"}


def _orders(app) -> dict[str, Order]:
    with app.app_context():
        orders = db.session.scalars(sa.select(Order)).all()
        for order in orders:
            db.session.expunge(order)
        return {order.external_ref: order for order in orders}


@pytest.fixture
def _upload(upload):
    """Post a CSV to /api/orders/import and return the import's report once a worker
    has run it."""
    def send(api, text: str, filename: str = "orders.csv") -> Any:
        run = upload(api, "/api/orders/import", text, filename)
        assert run.get("status") == "done", run
        return run["report"]

    return send


def test_an_import_answers_202_with_the_import_to_follow(sales, catalogue, worker):
    from .conftest import wait_for_import

    answer = sales.post("/api/orders/import", content_type="multipart/form-data",
                        data={"file": (io.BytesIO(GOOD_AND_BAD.encode()), "orders.csv")})

    assert answer.status_code == 202, answer.json
    assert answer.headers["Location"] == f"/api/imports/{answer.json['id']}"
    assert answer.json["status"] in ("queued", "running", "done")
    assert answer.json["job"]["id"] > 0
    run = wait_for_import(sales, answer)
    assert (run["status"], run["rows_done"], run["rows_refused"]) == ("done", 11, 4)
    assert run["job"]["status"] == "done"


def test_a_csv_with_good_and_bad_rows_imports_exactly_the_good_orders(app, sales, catalogue,
                                                                       _upload):
    report = _upload(sales, GOOD_AND_BAD)

    assert (report["created"], report["refused"]) == (4, 4)
    orders = _orders(app)
    assert set(orders) == GOOD
    assert [len(orders[n].lines) for n in ("A-1", "B-2", "G-7", "H-8")] == [2, 1, 2, 1]
    assert orders["A-1"].total == Decimal("66.20")  # 4 x 12.50 + 12 x 1.50 less 10 %
    assert (orders["A-1"].channel, orders["B-2"].channel, orders["H-8"].channel) == (
        "web", "import", "phone")
    assert str(orders["A-1"].requested_date) == "2031-01-10"
    assert {o.idempotency_key for o in orders.values()} == {f"import:{n}" for n in GOOD}


def test_each_refused_row_is_reported_with_its_row_and_field(sales, catalogue, _upload):
    errors = _upload(sales, GOOD_AND_BAD)["errors"]

    assert [(e["row"], e["key"], e["field"]) for e in errors] == [
        (6, "C-3", "quantity"),
        (7, "D-4", "customer_email"),
        (9, "E-5", "quantity"),
        (11, "F-6", "sku"),
    ]
    assert "packs of 6" in errors[0]["message"]
    assert "not a number: 'lots'" in errors[2]["message"]


def test_importing_the_same_file_twice_adds_nothing(app, sales, catalogue, _upload):
    _upload(sales, GOOD_AND_BAD)
    first = _orders(app)

    again = _upload(sales, GOOD_AND_BAD)

    assert (again["created"], again["already_imported"], again["refused"]) == (0, 4, 4)
    assert {o["order_number"]: o["number"] for o in again["orders"]
            if o["outcome"] == "already_imported"} == {n: first[n].number for n in GOOD}
    assert {n: o.id for n, o in _orders(app).items()} == {n: o.id for n, o in first.items()}


def test_a_csv_body_is_imported_like_an_upload(app, sales, catalogue, worker):
    from .conftest import wait_for_import

    answer = sales.post("/api/orders/import", data=GOOD_AND_BAD.encode(),
                        content_type="text/csv; charset=utf-8")

    assert wait_for_import(sales, answer)["report"]["created"] == 4
    assert set(_orders(app)) == GOOD


def test_an_order_named_by_customer_id_is_imported(app, sales, catalogue, _upload):
    text = f"order_number,customer_id,sku,quantity\nZ-1,{catalogue.other_customer},W-1,2\n"

    assert _upload(sales, text)["created"] == 1
    assert _orders(app)["Z-1"].customer_id == catalogue.other_customer


def test_rows_of_one_order_must_agree_on_the_customer(app, sales, catalogue, _upload):
    text = "order_number,customer_email,sku,quantity\n" \
           "Y-1,ada@example.com,W-1,1\nY-1,bob@example.com,W-1,1\n"

    report = _upload(sales, text)

    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "customer_email")]
    assert _orders(app) == {}


@pytest.mark.parametrize(("text", "field"), [
    ("order_number,sku,quantity\nA,W-1,1\n", "columns"),
    ("order_number,customer_email,sku,quantity,colour\nA,ada@example.com,W-1,1,red\n",
     "columns"),
    ("", "file"),
], ids=["no customer column", "unknown column", "empty file"])
def test_an_unusable_file_is_refused_before_anything_is_imported(app, sales, catalogue, text,
                                                                 field):
    refused = sales.post("/api/orders/import", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(text.encode()), "orders.csv")})

    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == field
    assert _orders(app) == {}


def test_a_file_that_is_not_utf8_fails_at_its_row_before_anything_is_imported(
        app, sales, catalogue, upload):
    text = "order_number,customer_email,sku,quantity\nA,ada@example.com,W-1,1\n"
    failed = upload(sales, "/api/orders/import",
                    text.encode() + "B,caf\xe9@example.com,W-1,1\n".encode("latin-1"))

    assert failed["status"] == "failed"
    problem = failed["report"]["problems"][0]
    assert problem["line"] == 3 and "row 3: byte 0xe9 is not UTF-8-SIG" in problem["message"]
    assert _orders(app) == {}


def test_an_import_without_a_file_is_refused(sales):
    assert sales.post("/api/orders/import", json={"rows": []}).status_code == 415
    missing = sales.post("/api/orders/import", content_type="multipart/form-data", data={})
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "file"


# --- the command line ----------------------------------------------------------------------


def test_the_command_line_imports_shows_progress_and_reports_bad_rows(
        app, erpkit_cli, catalogue, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(GOOD_AND_BAD)

    first = erpkit_cli("orders", "import", str(path), "--actor", "night-batch")
    second = erpkit_cli("orders", "import", str(path))

    assert first.exit_code == 1, first.output  # some rows were refused
    assert "importing 11 rows" in first.output
    assert "row 6 (order C-3): quantity:" in first.output
    assert "4 orders created, 0 already imported, 0 differing from an earlier import, " \
        "4 refused" in first.output
    assert "0 orders created, 4 already imported, 0 differing from an earlier import, " \
        "4 refused" in second.output
    orders = _orders(app)
    assert set(orders) == GOOD
    assert {o.created_by for o in orders.values()} == {"night-batch"}


def test_the_command_line_refuses_an_unusable_file_without_a_traceback(
        app, erpkit_cli, catalogue, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_number,sku\nA,W-1\n")

    result = erpkit_cli("orders", "import", str(path))

    assert result.exit_code == 1
    assert "refused: line 1: columns: missing columns: quantity" in result.output
    assert "Traceback" not in result.output

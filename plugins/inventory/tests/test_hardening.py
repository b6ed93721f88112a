"""Inventory takes quantities as exact decimal strings within its columns, and a figures
request's work is bounded: the server keeps answering while the worst ones run."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from werkzeug.serving import make_server

from erpkit.db import utcnow

WORST_PERIOD = {"from": "0001-01-01", "to": "9999-12-30"}


@pytest.mark.parametrize("endpoint,extra", [
    ("receipts", {"warehouse": "MAIN"}),
    ("adjustments", {"warehouse": "MAIN", "reason": "count"}),
    ("transfers", {"from_warehouse": "MAIN", "to_warehouse": "EAST"}),
])
@pytest.mark.parametrize("quantity", ["1e15", 1e15, 1e308, "1000000000000000", 2.5, "\u0665",
                                      "0.0001", "NaN"])
def test_a_quantity_the_columns_cannot_hold_or_not_in_ascii_digits_is_a_422(
        client, users, shop, endpoint, extra, quantity):
    response = client.post(f"/api/inventory/{endpoint}", headers=users.headers("warehouse"),
                           json={"sku": "W-1", "quantity": quantity, **extra})

    assert response.status_code == 422, response.get_data(as_text=True)
    assert [e["field"] for e in response.json["errors"]] == ["quantity"]


@pytest.mark.parametrize("endpoint,extra", [
    ("receipts", {"warehouse": "MAIN"}),
    ("adjustments", {"warehouse": "MAIN", "reason": "count"}),
])
def test_receipts_and_adjustments_take_decimal_strings_like_orders(client, users, shop,
                                                                   endpoint, extra):
    response = client.post(f"/api/inventory/{endpoint}", headers=users.headers("warehouse"),
                           json={"sku": "W-1", "quantity": "2.125", **extra})

    assert response.status_code == 201, response.json
    assert response.json["on_hand_change"] == "2.125"


def test_a_figures_period_longer_than_the_parameter_is_a_422_naming_the_field(client, users,
                                                                              shop):
    response = client.get("/api/inventory/figures", headers=users.headers("analyst"),
                          query_string={"from": "2020-01-01", "to": "2023-01-01"})

    assert response.status_code == 422
    [problem] = response.json["errors"]
    assert (problem["field"], problem["code"]) == ("to", "too_long")
    assert "core.max_report_days" in problem["message"]


def test_the_issues_figures_request_is_refused_at_once(client, users, shop):
    start = time.monotonic()
    response = client.get("/api/inventory/figures", headers=users.headers("analyst"),
                          query_string=WORST_PERIOD)

    assert response.status_code == 422
    assert time.monotonic() - start < 1


def test_figures_come_a_page_of_products_at_a_time(client, users, shop):
    for sku in ("W-1", "G-1"):
        shop.receive(sku, "MAIN", 5)
    headers = users.headers("analyst")

    first = client.get("/api/inventory/figures?limit=1", headers=headers).json
    second = client.get(f"/api/inventory/figures?limit=1&after={first[0]['sku']}",
                        headers=headers).json

    assert [f["sku"] for f in first + second] == ["G-1", "W-1"]


def test_four_worst_case_figure_requests_leave_the_server_answering_health(app, users, shop):
    for sku in ("W-1", "G-1"):
        shop.receive(sku, "MAIN", 5)
    headers = users.headers("analyst")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    today = utcnow().date()
    longest = {"from": (today - timedelta(days=730)).isoformat(), "to": today.isoformat(),
               "limit": "500"}
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            heavy = [pool.submit(requests.get, f"{base}/api/inventory/figures",
                                 params=params, headers=headers, timeout=60)
                     for params in (WORST_PERIOD, WORST_PERIOD, longest, longest)]
            time.sleep(0.05)
            start = time.monotonic()
            health = requests.get(f"{base}/health", timeout=5)
            elapsed = time.monotonic() - start
            answers = [future.result() for future in heavy]
    finally:
        server.shutdown()
        thread.join(5)

    assert health.status_code == 200
    assert elapsed < 1, elapsed
    assert [a.status_code for a in answers] == [422, 422, 200, 200]

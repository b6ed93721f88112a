"""The customer's status lookup: number plus token, no login, nothing private."""

from __future__ import annotations

import pytest

from .conftest import order_body


@pytest.fixture
def shipped_order(as_role, sales, catalogue):
    """An order shipped with a tracking number; a reason typed by staff on the way."""
    order = sales.post("/api/orders", json=order_body(
        catalogue, requested_date="2031-05-04", note="VIP: call Ada on 555-7788")).json
    path = f"/api/orders/{order['id']}"
    sales.post(f"{path}/submit")
    as_role("warehouse").post(f"{path}/ship", json={"tracking": "1Z999AA10123456784"})
    return sales.get(path).json


def test_the_customer_sees_status_dates_public_timeline_and_tracking(client, shipped_order):
    page = client.get(f"/status/{shipped_order['number']}",
                      query_string={"token": shipped_order["public_token"]})

    assert page.status_code == 200
    body = page.json
    assert set(body) == {"number", "status", "status_label", "created", "requested_date",
                         "promised_date", "timeline", "tracking"}
    assert (body["status"], body["status_label"]) == ("shipped", "Order shipped")
    assert body["requested_date"] == "2031-05-04"
    assert body["promised_date"] == shipped_order["promised_date"]
    assert body["tracking"] == ["1Z999AA10123456784"]
    assert [e["status"] for e in body["timeline"] if e["status"]] == [
        "draft", "submitted", "approved", "confirmed", "shipped"]


def test_the_status_page_shows_no_customer_data_prices_or_lines(client, shipped_order):
    text = client.get(f"/status/{shipped_order['number']}",
                      query_string={"token": shipped_order["public_token"]}).get_data(as_text=True)

    for private in ("Ada", "ada@example.com", "12.50", "50.00", "W-1", "Widget", "VIP",
                    "555-7788", "sales", "web channel", "customer", "total", "price"):
        assert private not in text, private


def test_staff_reasons_never_reach_the_customer(client, sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/cancel", json={"reason": "customer owes us money"})

    body = client.get(f"/status/{order['number']}",
                      query_string={"token": order["public_token"]}).json

    assert body["timeline"][-1]["message"] == "Order cancelled"
    assert "owes" not in str(body)


@pytest.mark.parametrize("query", [{"token": "wrong"}, {}, {"token": ""}],
                         ids=["wrong token", "no token", "empty token"])
def test_a_wrong_or_missing_token_looks_exactly_like_an_unknown_number(client, shipped_order,
                                                                      query):
    number = shipped_order["number"]

    refused = client.get(f"/status/{number}", query_string=query)
    unknown = client.get("/status/SO-1999-999999", query_string=query)

    assert refused.status_code == unknown.status_code == 404
    assert refused.get_data() == unknown.get_data()
    assert number not in refused.get_data(as_text=True)


def test_another_orders_token_does_not_open_this_order(client, sales, catalogue, shipped_order):
    other = sales.post("/api/orders", json=order_body(catalogue)).json

    refused = client.get(f"/status/{shipped_order['number']}",
                         query_string={"token": other["public_token"]})

    assert refused.status_code == 404


def test_a_browser_gets_a_small_html_page(client, shipped_order):
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    page = client.get(f"/status/{shipped_order['number']}", headers=html,
                      query_string={"token": shipped_order["public_token"]})
    missing = client.get(f"/status/{shipped_order['number']}", headers=html,
                         query_string={"token": "nope"})
    unknown = client.get("/status/SO-1999-999999", headers=html, query_string={"token": "nope"})

    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "Order shipped" in text and "1Z999AA10123456784" in text and "Ada" not in text
    assert missing.status_code == unknown.status_code == 404
    assert missing.get_data() == unknown.get_data()

"""The order form's delivery promise in a real browser (Debian's chromium via
Playwright): as lines are typed, the date and its explanation, line by line, come from
POST /api/promise/quote, under the console's CSP (no inline script). Screenshots land
in test-artifacts/<backend>/logistics-console/<test>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from erpkit_logistics import promise_api

from .conftest import at, log_in, made_to_order

pytestmark = pytest.mark.browser


def choose_product(page, row, sku):
    page.locator("tr[data-line]").nth(row).locator(".select2-choice").click()
    page.locator(".select2-drop-active input.select2-input:visible").fill(sku)
    page.locator(".select2-drop-active .select2-result-label:visible", has_text=sku).click()


def test_the_order_form_shows_the_promise_as_lines_are_typed(bavaria, users, live_url,
                                                            chromium, shots, monkeypatch):
    users.create("sam", "sales")
    made_to_order(bavaria)
    # The quotes are worked out on Friday 4 Dec 2026 at 10:00 UTC.
    monkeypatch.setattr(promise_api, "utcnow", lambda: at("2026-12-04T10:00"))
    page = log_in(chromium, live_url, "sam")
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    page.goto("/admin/orders/new")
    panel = page.get_by_test_id("promise-quote")
    expect(panel).to_contain_text("Choose a customer and products")
    page.get_by_label("Customer").select_option(label="Ada Ltd")
    choose_product(page, 0, "W-1")
    page.get_by_label("Quantity of line 1", exact=True).fill("1")
    # From stock Fri 4, handed over by the 16:00 cut-off, transit Mon 7, Tue 8.
    expect(panel.locator("[data-promise-summary]")).to_have_text("Delivered by 2026-12-08")
    expect(panel.locator("tbody tr")).to_have_count(4)
    expect(panel).to_contain_text("W-1: from stock (no inventory kept), available Fri "
                                  "2026-12-04")
    shots(page, "promise-from-stock")
    # A made-to-order line: 2 chairs made Fri 4, 3 working days, ready Wed 9; transit
    # Thu 10, Fri 11.
    choose_product(page, 1, "CHAIR")
    page.get_by_label("Quantity of line 2", exact=True).fill("2")
    expect(panel.locator("[data-promise-summary]")).to_have_text("Delivered by 2026-12-11")
    expect(panel).to_contain_text("CHAIR: made to order at WC-1 on Fri 2026-12-04 (free "
                                  "capacity)")
    shots(page, "promise-made-to-order")
    # The chair line removed: back to the date from stock.
    page.get_by_role("button", name="Remove line 2").click()
    expect(panel.locator("[data-promise-summary]")).to_have_text("Delivered by 2026-12-08")
    assert not [m for m in refused if "Content Security Policy" in m], refused

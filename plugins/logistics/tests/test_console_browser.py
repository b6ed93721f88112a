"""The warehouse's and the driver's whole job in a real browser (Debian's chromium via
Playwright): create a shipment, pick, pack, hand over, deliver; plan and run a trip on a
tablet-sized screen. Screenshots land in test-artifacts/<backend>/logistics-console/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpkit.db import utcnow
from erpkit_logistics.models import Vehicle

from .conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def live(live_url):
    return live_url


@pytest.fixture
def browser(chromium):
    """erpkit.testing's one chromium for the run."""
    return chromium


def test_a_shipment_from_the_picking_list_to_delivery_in_the_browser(world, users, live,
                                                                    browser, shots):
    users.create("wanda", "warehouse")
    world.product("A", weight="1.5")
    world.product("B", weight="0.5")
    order = world.order({"A": 2, "B": 1})
    number = order.number
    world.session.commit()  # SQLite: an open transaction would hold the write lock
    page = log_in(browser, live, "wanda")
    page.goto("/admin/logistics/shipments/")
    row = page.locator(f"tr[data-order='{number}']")
    row.get_by_role("button", name="Create shipment").click()
    page.wait_for_selector("[data-testid=status]")
    page.goto("/admin/logistics/shipments/?warehouse=MAIN")
    assert page.locator("[data-testid=picking-list] tbody tr").count() == 2
    shots(page, "shipments-and-picking-list")
    page.locator("[data-testid=picking-list] a").first.click()
    page.get_by_role("button", name="Items picked").click()
    page.get_by_label("Weight (kg)").fill("3.6")
    page.get_by_label("L (cm)").fill("40")
    page.get_by_label("W (cm)").fill("30")
    page.get_by_label("H (cm)").fill("20")
    page.get_by_label("Tracking number").fill("PX-1001")
    page.get_by_role("button", name="Add package").click()
    assert page.locator("[data-testid=status]").inner_text() == "Packed"
    shots(page, "packed")
    page.get_by_role("button", name="Hand over to carrier").click()
    assert page.locator("[data-testid=order-status]").inner_text() == "Shipped"
    page.get_by_label("What went wrong").fill("box dented at the hub")
    page.get_by_role("button", name="Record exception").click()
    assert page.locator("[data-testid=status]").inner_text() == "Exception"
    page.get_by_role("button", name="Mark delivered").click()
    assert page.locator("[data-testid=order-status]").inner_text() == "Delivered"
    shots(page, "delivered-with-history")
    assert world.refresh(order).status == "delivered"


def test_a_trip_planned_and_run_on_a_tablet(world, users, live, browser, shots):
    users.create("dana", "logistics")
    world.set("logistics.default_service", "OWN/van")
    world.session.add(Vehicle(code="VAN-1", name="Van 1", max_weight_kg=Decimal(300),
                              max_stops=10, depot_latitude=Decimal("52.52"),
                              depot_longitude=Decimal("13.40")))
    world.session.commit()
    world.product("CRATE", weight="4")
    points = [("52.53", "13.38"), ("52.48", "13.45"), ("52.55", "13.42"), ("52.50", "13.30")]
    for latitude, longitude in points:
        shipment = world.shipment(world.order({"CRATE": 1}), latitude=Decimal(latitude),
                                  longitude=Decimal(longitude))
        world.ready(shipment, f"OWN-{shipment.id}", weight="4")
    world.session.commit()
    page = log_in(browser, live, "dana", viewport=(1024, 1366))
    page.goto(f"/admin/logistics/trips/?day={utcnow().date().isoformat()}")
    page.get_by_role("button", name="Plan trips").click()
    page.locator("[data-testid=trips] a").first.click()
    shots(page, "run-sheet-planned")
    page.get_by_role("button", name="Start trip").click()
    assert page.locator("[data-testid=trip-status]").inner_text() == "Running"
    page.locator("[data-testid=stops] li").first.get_by_role("button",
                                                               name="Delivered").click()
    assert page.locator("[data-testid=stops] .badge-success").count() == 1
    shots(page, "run-sheet-one-delivered")
    for _ in range(3):
        page.locator("[data-testid=stops]").get_by_role("button", name="Delivered").first.click()
    assert page.locator("[data-testid=trip-status]").inner_text() == "Done"

"""Issue 18's remaining scenarios in a real browser (Debian's chromium), screenshots in
test-artifacts/: an admin imports a catalogue file and sees its refused rows; an
analyst lands on the dashboard under what waits on them; the warehouse's home on an
800 px tablet shows its low stock and its late work."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from erpkit.db import db

pytestmark = pytest.mark.browser
pytest.importorskip("erpkit_orders")

TABLET = {"width": 800, "height": 1000}

CATALOGUE = (
    "sku,name,unit_price,category\n"
    "SAW-1,Hand saw,24.50,tools\n"
    "SAW-2,Coping saw,abc,tools\n"
    "SAW-3,,12.00,tools\n"
    "SAW-4,Saw blades (pack of 5),9.90,tools\n"
)


def demo(app):
    from erpkit.demo import load_demo

    with app.app_context():
        logins = load_demo("demo-password")
        db.session.commit()
    return logins


def test_an_admin_imports_a_catalogue_and_sees_its_refused_rows(app, users, pages, worker,
                                                                tmp_path):
    users.create("ann", "admin")
    upload = tmp_path / "catalogue.csv"
    upload.write_text(CATALOGUE, encoding="utf-8")
    admin = pages.new()
    pages.log_in(admin, "ann")
    admin.goto("/admin/orders/imports/")
    admin.get_by_label("What").select_option("products")
    admin.get_by_label("CSV file").set_input_files(str(upload))
    pages.shot(admin, "admin-chooses-a-catalogue-file")
    admin.get_by_role("button", name="Import").click()
    expect(admin.get_by_test_id("import-status")).to_contain_text("Done", timeout=30_000)
    expect(admin.get_by_test_id("import-status")).to_contain_text("4 rows read, 2 taken, 2 refused")
    refused = admin.get_by_test_id("refused-rows")
    expect(refused.locator("tbody tr")).to_have_count(2)
    expect(refused).to_contain_text("SAW-2")
    expect(refused).to_contain_text("SAW-3")
    expect(admin.get_by_test_id("import-progress")).to_have_attribute("aria-valuenow", "100")
    pages.shot(admin, "admin-sees-the-refused-rows")
    from erpkit_orders.models import Product

    with app.app_context():
        skus = sorted(p.sku for p in db.session.query(Product))
    assert skus == ["SAW-1", "SAW-4"]


def test_an_analyst_lands_on_the_dashboard_under_what_waits_on_them(app, pages):
    pytest.importorskip("erpkit_reporting")
    logins = demo(app)
    analyst = pages.new()
    pages.log_in(analyst, logins["analyst"], "demo-password")
    analyst.goto("/admin/")
    analyst.wait_for_selector("body[data-charts-ready='yes']")
    expect(analyst.get_by_test_id("home-work")).to_be_visible()
    expect(analyst.get_by_test_id("key-figures")).to_be_visible()
    expect(analyst.locator("canvas#revenue-by-month")).to_be_visible()
    pages.shot(analyst, "analyst-home-dashboard")
    analyst.set_viewport_size(TABLET)
    pages.shot(analyst, "analyst-home-dashboard-800px")
    width = analyst.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"], f"the page is {width} px wide on an 800 px screen"


def test_the_warehouse_home_on_a_tablet_shows_low_stock_and_is_keyboard_usable(app, users,
                                                                              pages):
    pytest.importorskip("erpkit_inventory")
    from erpkit_inventory import stock
    from erpkit_inventory.models import ReplenishmentRule, Warehouse
    from erpkit_orders.models import Product

    users.create("wes", "warehouse")
    with app.app_context():
        lamp = Product(sku="LAMP-1", name="Desk lamp", unit_price=Decimal("30.00"))
        main = Warehouse(code="MAIN", name="Main warehouse")
        db.session.add_all([lamp, main])
        db.session.flush()
        db.session.add(ReplenishmentRule(product_id=lamp.id, warehouse_id=main.id,
                                         reorder_point=Decimal(10), order_up_to=Decimal(40)))
        stock.receive(db.session, lamp, main, 20, actor="setup")
        stock.adjust(db.session, lamp, main, -16, actor="setup", reason="counted")
        db.session.commit()
    warehouse = pages.new()
    warehouse.set_viewport_size(TABLET)
    pages.log_in(warehouse, "wes")
    warehouse.goto("/admin/")
    expect(warehouse.locator("html")).to_have_attribute("lang", "en-GB")
    low = warehouse.get_by_test_id("home-low-stock")
    expect(low).to_contain_text("LAMP-1 Desk lamp (MAIN)")
    expect(low).to_contain_text("4 left, reorder at 10")
    # the first Tab reaches the skip link, which takes the keyboard past the menu
    warehouse.keyboard.press("Tab")
    skip = warehouse.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    pages.shot(warehouse, "warehouse-home-800px-skip-link")
    warehouse.keyboard.press("Enter")
    assert warehouse.evaluate("document.activeElement.id") == "content"
    width = warehouse.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"], f"the page is {width} px wide on an 800 px screen"
    unlabelled = warehouse.evaluate("""() => [...document.querySelectorAll(
        'input:not([type=hidden]), select, textarea, button')].filter(e => !(
        e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()
        ).map(e => e.outerHTML)""")
    assert unlabelled == []

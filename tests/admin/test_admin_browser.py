"""The console in a real browser: Debian's chromium, driven by Playwright."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_admin_logs_in_and_changes_the_company_name(pages, users):
    users.create("ann", "admin")
    page = pages.new()

    page.goto("/admin/parameters/")
    expect(page).to_have_url("/login?next=/admin/parameters/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Login").fill("ann")
    page.get_by_label("Password").fill("secret-pass")
    pages.shot(page, "login")
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url("/admin/parameters/")
    expect(page.get_by_test_id("current-user")).to_contain_text("ann")
    row = page.locator('tr[data-parameter="core.company_name"]')
    expect(row.locator(".parameter-value")).to_have_text("erpkit demo company")
    pages.shot(page, "parameters")

    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("current-value")).to_contain_text("erpkit demo company")
    page.get_by_label("New value").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("parameter-error")).to_contain_text("Length must be between 1")
    pages.shot(page, "refused")

    page.get_by_label("New value").fill("Acme Trading")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url("/admin/parameters/")
    expect(page.get_by_text("Saved core.company_name = Acme Trading")).to_be_visible()
    expect(row.locator(".parameter-value")).to_have_text("Acme Trading")
    expect(page.get_by_test_id("brand")).to_have_text("Acme Trading")
    pages.shot(page, "saved")

    page.goto("/admin/audit/")
    entry = page.locator("tr", has_text="core.company_name").first
    expect(entry).to_contain_text("erpkit demo company")
    expect(entry).to_contain_text("Acme Trading")
    expect(entry).to_contain_text("ann")
    pages.shot(page, "audit")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto("/admin/")
    expect(page).to_have_url("/login?next=/admin/")

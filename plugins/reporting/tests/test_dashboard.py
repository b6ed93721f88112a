"""The dashboard: key figures against the month before, and charts with their tables,
drawn by the vendored Chart.js in a real browser."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from babel.numbers import format_decimal

from erpkit.testing import PASSWORD


def login(client, users, role):
    users.create(role, role)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"\s+value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"login": role, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code in (302, 303)


def test_the_dashboard_shows_the_figures_of_the_reports(client, users, as_role, company):
    login(client, users, "analyst")
    page = client.get("/admin/reporting/dashboard/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    by_month = as_role("analyst").get("/api/reports/sales-by-month").json
    for row in by_month["rows"]:
        # money for people, in the console's locale (en_GB): 1,230.74
        shown = format_decimal(Decimal(str(row["revenue"])), "#,##0.00", locale="en_GB")
        assert f">{shown}<" in html
    assert "vendor/chart.umd.min.js" in html
    this_month = as_role("analyst").get(
        "/api/reports/sales", query_string={"from": "2000-01-01", "by": "year"}).json
    assert this_month["totals"]["revenue"]
    assert client.get("/reporting/static/vendor/chart.umd.min.js").status_code == 200


def test_people_without_reporting_view_do_not_see_the_dashboard(client, users, company):
    login(client, users, "warehouse")
    assert client.get("/admin/reporting/dashboard/").status_code == 403


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_hook_erpkit_console_home_makes_the_dashboard_the_home_of(client, users, company,
                                                                   role):
    login(client, users, role)
    home = client.get("/admin/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert "vendor/chart.umd.min.js" in html and 'data-testid="console-pages"' not in html
    # the list of pages stays one click away
    pages = client.get("/admin/?pages=1").get_data(as_text=True)
    assert 'data-testid="console-pages"' in pages and "vendor/chart.umd.min.js" not in pages


def test_the_console_home_of_people_without_reporting_view_lists_their_pages(
        client, users, company):
    login(client, users, "sales")
    html = client.get("/admin/").get_data(as_text=True)
    assert 'data-testid="console-pages"' in html and "vendor/chart.umd.min.js" not in html


@pytest.mark.browser
def test_the_dashboard_renders_its_charts_in_chromium(chromium, live_url, users, company,
                                                      artifacts):
    users.create("ann", "analyst")
    context = chromium.new_context(base_url=live_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append((request.resource_type, request.url)))
    page.goto("/login")
    page.get_by_label("Login").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")
    page.goto("/admin/reporting/dashboard/")
    page.wait_for_selector("body[data-charts-ready='yes']")
    for chart in ("revenue-by-month", "top-products", "revenue-by-country"):
        canvas = page.locator(f"canvas#{chart}")
        assert canvas.bounding_box()["height"] > 100
        # Chart.js drew on it: the canvas is not blank
        painted = page.evaluate(
            "id => { const c = document.getElementById(id); const d = c.getContext('2d')"
            ".getImageData(0, 0, c.width, c.height).data; let n = 0;"
            " for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }", chart)
        assert painted > 1000, chart
        assert page.locator(f"[data-testid=table-{chart}] tbody tr").count() >= 1
    revenue = page.locator("[data-figure=revenue]").get_attribute("data-value")
    assert Decimal(revenue) > 0
    page.screenshot(path=str(artifacts / "01-dashboard.png"), full_page=True)
    page.goto("/admin/reporting/reports/sales-by-country?from=2000-01-01")
    page.screenshot(path=str(artifacts / "02-report.png"), full_page=True)
    # the charts' script comes from the plugin itself (the console's theme, not ours,
    # asks Google for its font)
    scripts = [url for kind, url in requests if kind == "script"]
    assert scripts and all(url.startswith(live_url) for url in scripts), scripts
    context.close()

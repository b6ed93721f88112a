"""The product reports read the monthly product rollup (no place dimensions) for whole
months and the daily one for the days of a partial month or a place filter: whichever is
read, the figures equal an independent computation over the order lines."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit_reporting.models import MonthlyProductSales
from erpkit_reporting.rebuild import check

from . import oracle
from .test_reports_exact import FAR


@pytest.fixture
def orders(app, company):
    with app.app_context():
        return oracle.load(db.session)


def lines_by_sku(orders, first: date, last: date, keep=lambda o: True):
    """Revenue and units per SKU: lines of sales ordered in range, less the lines of
    orders returned in range (on their return day)."""
    revenue, units = defaultdict(Decimal), defaultdict(Decimal)
    for o in oracle.sales(orders):
        if not keep(o):
            continue
        for sku, _category, quantity, total in o.lines:
            if first <= o.day <= last:
                revenue[sku] += total
                units[sku] += quantity
            if o.returned_on and first <= o.returned_on <= last:
                revenue[sku] -= total
                units[sku] -= quantity
    return revenue, units


def ranges(today: date) -> list[tuple[date, date]]:
    return [
        (today - timedelta(days=500), today - timedelta(days=45)),  # partial months at both ends
        ((today.replace(day=1) - timedelta(days=335)).replace(day=1), today),  # the default
        (today - timedelta(days=20), today - timedelta(days=3)),    # within a month or two
        (date(2000, 1, 1), date(2100, 1, 1)),
    ]


@pytest.mark.parametrize("span", range(4))
def test_sales_by_product_equals_the_lines_whatever_rollup_answers(as_role, orders, span):
    first, last = ranges(date.today())[span]
    revenue, units = lines_by_sku(orders, first, last)
    body = as_role("analyst").get("/api/reports/sales-by-product", query_string={
        "from": first.isoformat(), "to": last.isoformat()}).json
    got = {r["sku"]: (Decimal(r["revenue"]), Decimal(r["units"])) for r in body["rows"]}
    assert got == {sku: (revenue[sku], units[sku]) for sku in got}
    assert set(got) >= {sku for sku, cents in revenue.items() if cents}
    assert Decimal(body["totals"]["revenue"]) == sum(revenue.values())


def test_a_place_filter_reads_the_daily_rollup_and_still_equals_the_lines(as_role, orders):
    first, last = date.today() - timedelta(days=500), date.today()
    revenue, _ = lines_by_sku(orders, first, last, keep=lambda o: o.country == "DE")
    body = as_role("analyst").get("/api/reports/products-abc", query_string={
        "from": first.isoformat(), "to": last.isoformat(), "country": "DE"}).json
    assert {r["sku"]: Decimal(r["revenue"]) for r in body["rows"]} == {
        sku: cents for sku, cents in revenue.items()
        if sku in {r["sku"] for r in body["rows"]}}


def test_whole_months_are_read_from_the_monthly_rollup(app, as_role, company):
    """A hand-made change to the monthly table shows in an unfiltered report, not in a
    country-filtered one (daily table), and the drift check names it."""
    analyst = as_role("analyst")
    with app.app_context():
        row = db.session.scalars(sa.select(MonthlyProductSales).order_by(
            MonthlyProductSales.revenue_cents.desc()).limit(1)).one()
        month, product_id = row.month, row.product_id
        before = analyst.get("/api/reports/sales-by-product", query_string=FAR).json
        row.revenue_cents += 100
        db.session.commit()
        after = analyst.get("/api/reports/sales-by-product", query_string=FAR).json
        assert Decimal(after["totals"]["revenue"]) - Decimal(before["totals"]["revenue"]) \
            == Decimal("1.00")
        drifts = check(db.session)
        assert [(d.table, d.key, d.column) for d in drifts] == [
            ("reporting_monthly_product_sales", (month, product_id, row.category),
             "revenue_cents")]


def test_demand_forecast_by_month_counts_the_units_of_each_product(as_role, orders):
    today = date.today()
    first = today - timedelta(days=400)  # mid-month: the forecast takes the whole month
    body = as_role("analyst").get("/api/reports/demand-forecast", query_string={
        "from": first.isoformat(), "to": today.isoformat(), "by": "month", "group": "product",
        "horizon": "1", "holdout": "0"}).json
    units = defaultdict(Decimal)
    for o in oracle.sales(orders):
        for sku, _category, quantity, _total in o.lines:
            if first <= o.day <= today:
                units[(sku, o.day.replace(day=1))] += quantity
            if o.returned_on and first <= o.returned_on <= today:
                units[(sku, o.returned_on.replace(day=1))] -= quantity
    # seasonal naive, one period ahead: the same month a year before the next one
    last_month = today.replace(day=1)
    next_month = date(last_month.year + last_month.month // 12, last_month.month % 12 + 1, 1)
    season_ago = date(next_month.year - 1, next_month.month, 1)
    assert season_ago >= first.replace(day=1)
    assert body["rows"], "products were sold"
    for row in body["rows"]:
        assert Decimal(row["seasonal_naive"]) == units[(row["item"], season_ago)], row

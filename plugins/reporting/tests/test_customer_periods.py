"""Figures per customer read from whole periods and leftover days (customer_periods):
equal to the orders themselves (tests/oracle.py) over ranges that cut years, quarters and
months anywhere, and over everything (the all-time rows)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from erpkit.db import db

from . import oracle
from .conftest import migrate_again_from


def ranges() -> list[tuple[date, date]]:
    today = date.today()
    last_year = today.year - 1
    return [(today - timedelta(days=800), today + timedelta(days=1)),  # every sale: all time
            (today - timedelta(days=390), today - timedelta(days=45)),  # cuts months
            (today - timedelta(days=500), today - timedelta(days=20)),
            (date(last_year, 1, 1), date(last_year, 12, 31)),  # a whole year
            (date(last_year, 4, 1), date(last_year, 9, 30)),  # whole quarters
            (date(last_year, 2, 10), date(last_year, 2, 10))]  # one day


@pytest.fixture
def api(as_role):
    analyst = as_role("analyst")

    def get(name, first, last, **params):
        response = analyst.get(f"/api/reports/{name}", query_string={
            "from": first.isoformat(), "to": last.isoformat(), **params})
        assert response.status_code == 200, response.json
        return response.json

    return get


def test_the_pieces_of_a_range_cover_it_once(app, company):
    from erpkit_reporting.customer_periods import whole_periods
    from erpkit_reporting.periods import next_period

    by = {"m": "month", "q": "quarter", "y": "year"}
    with app.app_context():
        for first, last in ranges()[1:]:
            pieces = whole_periods(db.session, first, last)
            covered = sorted([(start, next_period(start, by[grain]) - timedelta(days=1))
                              for grain, start in pieces.periods] + list(pieces.days))
            for (_, end), (start, _) in itertools.pairwise(covered):
                assert start == end + timedelta(days=1), (first, last, covered)
            # the ends: exactly the range, or past it over days without sales only
            sold = {o.day for o in oracle.sales(oracle.load(db.session))}
            assert covered[0][0] <= first and covered[-1][1] >= last
            assert not any(covered[0][0] <= day < first or last < day <= covered[-1][1]
                           for day in sold)
        first, last = ranges()[0]
        assert whole_periods(db.session, first, last).periods == (("a", date(1900, 1, 1)),)


@pytest.mark.parametrize("limit", [None, 3])
def test_sales_by_customer_over_any_range(api, orders, limit):
    for first, last in ranges():
        sold = Counter(o.customer_id for o in oracle.sales(orders) if first <= o.day <= last)
        revenue = oracle.revenue_by(orders, lambda o, _day: o.customer_id, first, last)
        expected = sorted((-revenue[c], c) for c in sold)
        params = {"limit": str(limit)} if limit else {}
        body = api("sales-by-customer", first, last, **params)
        got = [(-Decimal(r["revenue"]), r["customer_id"]) for r in body["rows"]]
        assert got == (expected[:limit] if limit else expected), (first, last)
        assert [r["orders"] for r in body["rows"]] == [sold[c] for _, c in got]
        assert body["totals"]["customers"] == len(sold)
        assert body["totals"]["orders"] == sum(sold.values())
        assert Decimal(body["totals"]["revenue"]) == sum((revenue[c] for c in sold), Decimal(0))


def _period(day: date, by: str) -> str:
    year, week, _ = day.isocalendar()
    return {"month": f"{day.year}-{day.month:02d}", "year": str(day.year),
            "quarter": f"{day.year}-Q{(day.month - 1) // 3 + 1}", "week": f"{year}-W{week:02d}"}[by]


def _new_returning(orders, first, last, by, country=None):
    """The report by its definition: new customers' first sale ever (any place) falls in
    the period; the revenue of the period (sales and returns in the range) split between
    the new customers and the rest."""
    everything = oracle.sales(orders)
    first_sale: dict[int, date] = {}
    for o in sorted(everything, key=lambda o: o.day):
        first_sale.setdefault(o.customer_id, o.day)
    chosen = [o for o in everything if country is None or o.country == country]
    buyers = defaultdict(set)
    for o in chosen:
        if first <= o.day <= last:
            buyers[_period(o.day, by)].add(o.customer_id)
    revenue = oracle.revenue_by(chosen, lambda o, day: (_period(day, by), o.customer_id),
                                first, last)
    out = {}
    for period, customers in buyers.items():
        new = {c for c in customers if _period(first_sale[c], by) == period}
        total = sum((v for (p, _c), v in revenue.items() if p == period), Decimal(0))
        new_revenue = sum((v for (p, c), v in revenue.items() if p == period and c in new),
                          Decimal(0))
        out[period] = (len(customers), len(new), new_revenue, total - new_revenue)
    return out


@pytest.mark.parametrize("by", ["week", "month", "quarter", "year"])
def test_new_and_returning_customers_and_their_revenue(api, orders, by):
    for first, last in ranges():
        body = api("customers-new-returning", first, last, by=by)
        got = {r["period"]: (r["customers"], r["new"], Decimal(r["revenue_new"]),
                             Decimal(r["revenue_returning"])) for r in body["rows"]}
        assert got == _new_returning(orders, first, last, by), (first, last)
        # the two revenues add up to the period's revenue of the sales report
        sales = {r["period"]: Decimal(r["revenue"])
                 for r in api("sales", first, last, by=by)["rows"]}
        assert {p: new + rest for p, (_, _, new, rest) in got.items()} == {
            p: sales[p] for p in got}


def test_new_and_returning_with_a_place_filter_reads_the_daily_rows_alike(api, orders):
    for first, last in ranges()[:3]:
        body = api("customers-new-returning", first, last, by="month", country="FR")
        got = {r["period"]: (r["customers"], r["new"], Decimal(r["revenue_new"]),
                             Decimal(r["revenue_returning"])) for r in body["rows"]}
        assert got == _new_returning(orders, first, last, "month", country="FR")
        assert got, "the company has sales shipped to FR"


def test_the_migration_fills_them_from_the_rollups_already_there(app, company, database_url):
    # a database upgraded to reporting_0005 with sales in it needs no rebuild
    import sqlalchemy as sa

    from erpkit_reporting.models import CustomerPeriod
    from erpkit_reporting.rebuild import check

    assert "reporting_customer_period" not in migrate_again_from(app, database_url,
                                                                 "reporting_0004")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerPeriod)) > 0
        assert check(db.session) == []


def test_the_drift_check_compares_the_first_periods_revenue(app, company):
    import sqlalchemy as sa

    from erpkit_reporting.models import CustomerFirstSale
    from erpkit_reporting.rebuild import check

    with app.app_context():
        assert check(db.session) == []
        customer_id = db.session.scalars(sa.select(CustomerFirstSale.customer_id)).first()
        db.session.execute(sa.update(CustomerFirstSale)
                           .where(CustomerFirstSale.customer_id == customer_id)
                           .values(quarter_cents=CustomerFirstSale.quarter_cents + 1))
        drifts = check(db.session)
        assert [(d.table, d.key, d.column) for d in drifts] == [
            ("reporting_customer_first_sale", (customer_id,), "quarter_cents")]
        db.session.rollback()

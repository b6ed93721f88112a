"""Every report on a generated company equals an independent computation over the orders
(tests/oracle.py), to the cent, on the run's backend (SQLite or PostgreSQL)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from erpkit.db import db

from . import oracle

FAR = {"from": "2000-01-01", "to": "2100-01-01"}


@pytest.fixture
def api(as_role):
    analyst = as_role("analyst")

    def get(name, **params):
        response = analyst.get(f"/api/reports/{name}", query_string={**FAR, **params})
        assert response.status_code == 200, response.json
        return response.json

    return get


def money(value) -> Decimal:
    return Decimal(value)


def test_the_sales_total_equals_the_sum_of_the_orders_totals_to_the_cent(api, orders):
    sold = oracle.sales(orders)
    returned = [o for o in sold if o.returned_on]
    body = api("sales", by="year")
    totals = body["totals"]
    assert isinstance(totals["revenue"], str)
    assert money(totals["revenue"]) == sum(o.total for o in sold) - sum(o.total for o in returned)
    assert money(totals["gross_sales"]) == sum(o.subtotal for o in sold) - sum(
        o.subtotal for o in returned)
    assert money(totals["shipping"]) == sum(o.shipping for o in sold)
    assert totals["orders"] == len(sold)
    assert totals["lines"] == sum(len(o.lines) for o in sold)
    assert totals["returned_orders"] == len(returned)
    customers = Counter(o.customer_id for o in sold)
    assert totals["customers"] == len(customers)
    assert totals["repeat_customers"] == sum(1 for n in customers.values() if n >= 2)
    # history orders were imported (rebuild), live ones followed through the hooks
    assert any(o.day < date.today() - timedelta(days=30) for o in sold)
    assert any(o.day == date.today() for o in sold)


@pytest.mark.parametrize("by", ["day", "week", "month", "quarter", "year"])
def test_sales_by_period_equals_the_orders_grouped_by_period(api, orders, by):
    def start(day):
        return {"day": day, "week": oracle.week_start(day), "month": day.replace(day=1),
                "quarter": date(day.year, 3 * ((day.month - 1) // 3) + 1, 1),
                "year": date(day.year, 1, 1)}[by]

    expected = oracle.revenue_by(orders, lambda o, day: start(day), date(2000, 1, 1),
                                 date(2100, 1, 1))
    body = api(f"sales-by-{by}")
    nonzero = [money(r["revenue"]) for r in body["rows"] if r["orders"] or money(r["revenue"])]
    assert nonzero == [expected[k] for k in sorted(expected)]
    assert len({r["period"] for r in body["rows"]}) == len(body["rows"])
    assert money(body["totals"]["revenue"]) == sum(expected.values())


def test_a_date_range_counts_sales_by_order_date_and_returns_by_return_date(api, orders):
    today = date.today()
    first, last = today - timedelta(days=400), today - timedelta(days=100)
    expected = oracle.revenue_by(orders, lambda o, day: "all", first, last).get("all", 0)
    body = api("sales", **{"from": first.isoformat(), "to": last.isoformat(), "by": "month"})
    assert money(body["totals"]["revenue"]) == expected
    assert body["totals"]["orders"] == sum(1 for o in oracle.sales(orders)
                                           if first <= o.day <= last)


@pytest.mark.parametrize("dimension", ["country", "region", "channel"])
def test_sales_by_dimension(api, orders, dimension):
    expected = oracle.revenue_by(orders, lambda o, day: getattr(o, dimension),
                                 date(2000, 1, 1), date(2100, 1, 1))
    body = api(f"sales-by-{dimension}")
    assert {r[dimension]: money(r["revenue"]) for r in body["rows"]} == expected
    total = sum(expected.values())
    for row in body["rows"]:
        assert Decimal(row["share"]) == (money(row["revenue"]) / total).quantize(
            Decimal("0.0001"))


def test_a_filter_keeps_only_the_matching_sales(api, orders):
    expected = oracle.revenue_by([o for o in orders if o.channel in ("web", "phone")
                                  and o.country == "DE"], lambda o, day: "all",
                                 date(2000, 1, 1), date(2100, 1, 1))["all"]
    body = api("sales", channel="web,phone", country="DE")
    assert money(body["totals"]["revenue"]) == expected


def _line_revenue(orders, key):
    out = defaultdict(Decimal)
    units = defaultdict(Decimal)
    for o in oracle.sales(orders):
        for sku, category, quantity, total in o.lines:
            sign = -1 if o.returned_on else 1
            out[key(sku, category)] += total if sign == 1 else 0
            units[key(sku, category)] += quantity if sign == 1 else 0
    return out, units


def test_sales_by_product_and_category_add_up_the_lines(api, orders):
    by_sku, units = _line_revenue(orders, lambda sku, category: sku)
    body = api("sales-by-product")
    assert {r["sku"]: money(r["revenue"]) for r in body["rows"]} == {
        k: v for k, v in by_sku.items() if k in {r["sku"] for r in body["rows"]}}
    assert {r["sku"]: Decimal(r["units"]) for r in body["rows"]} == {
        k: units[k] for k in {r["sku"] for r in body["rows"]}}
    by_category, _ = _line_revenue(orders, lambda sku, category: category)
    body = api("sales-by-category")
    assert {r["category"]: money(r["revenue"]) for r in body["rows"]} == dict(by_category)
    # the category filter gives that category's lines
    tools = api("sales", category="tools")
    assert money(tools["totals"]["revenue"]) == by_category["tools"]


def test_products_abc_classes_follow_the_cumulative_share(api, orders, as_role):
    by_sku, _ = _line_revenue(orders, lambda sku, category: sku)
    ranked = sorted(by_sku.items(), key=lambda item: (-item[1], item[0]))
    total = sum(by_sku.values())
    expected, before = {}, Decimal(0)
    for sku, revenue in ranked:
        share = before / total
        expected[sku] = "A" if share < Decimal("0.7") else "B" if share < Decimal("0.9") else "C"
        before += revenue
    body = api("products-abc", a="0.7", b="0.9")
    assert {r["sku"]: r["class"] for r in body["rows"]} == expected
    # the thresholds default to the parameters reporting.abc_a / reporting.abc_b
    assert api("products-abc")["params"]["a"] == "0.80"


def test_customers_new_and_returning_per_month(api, orders):
    sold = oracle.sales(orders)
    first = {}
    for o in sorted(sold, key=lambda o: o.day):
        first.setdefault(o.customer_id, oracle.month(o.day))
    per_month = defaultdict(set)
    for o in sold:
        per_month[oracle.month(o.day)].add(o.customer_id)
    body = api("customers-new-returning", by="month")
    got = {r["period"]: (r["customers"], r["new"]) for r in body["rows"]}
    assert got == {m: (len(c), sum(1 for x in c if first[x] == m)) for m, c in per_month.items()}


def test_fulfilment_from_the_orders_own_dates(api, orders):
    sold = oracle.sales(orders)
    shipped = [o for o in sold if o.shipped_at]
    late = [o for o in shipped if o.requested and o.shipped_at.date() > o.requested]
    delivered = [o for o in sold if o.delivered_at and (o.promised or o.requested)]
    on_time = [o for o in delivered if o.delivered_at.date() <= (o.promised or o.requested)]
    totals = api("fulfilment", by="year")["totals"]
    assert totals["orders"] == len(sold)
    assert totals["shipped"] == len(shipped)
    assert totals["unshipped"] == len(sold) - len(shipped)
    assert Decimal(totals["late_share"]) == (Decimal(len(late)) / len(shipped)).quantize(
        Decimal("0.0001"))
    assert Decimal(totals["on_time_rate"]) == (Decimal(len(on_time)) / len(delivered)).quantize(
        Decimal("0.0001"))
    seconds = [int((o.shipped_at - o.ordered_at).total_seconds()) for o in shipped]
    assert Decimal(totals["max_days_to_ship"]) == (Decimal(max(seconds)) / 86400).quantize(
        Decimal("0.01"))
    assert Decimal(totals["average_days_to_ship"]) == (
        Decimal(sum(seconds)) / len(seconds) / 86400).quantize(Decimal("0.01"))


def test_order_cycle_times_are_within_one_percent_of_the_exact_percentiles(api, orders):
    durations = defaultdict(list)
    for o in orders:
        events = o.events
        for name, start, end in (("created", {"draft"}, {"submitted"}),
                                 ("confirmed", {"confirmed"}, {"partially_shipped", "shipped"}),
                                 ("shipped", {"partially_shipped", "shipped"}, {"delivered"})):
            ends = [i for i, (s, _) in enumerate(events) if s in end]
            if not ends:
                continue
            j = ends[0]
            i = j - 1
            while i > 0 and events[i - 1][0] in start:
                i -= 1
            if i >= 0 and events[i][0] in start:
                durations[name].append((events[j][1] - events[i][1]).total_seconds())
    rows = {(r["step"], r["channel"]): r for r in api("order-cycle-times")["rows"]}
    for step, values in durations.items():
        row = rows[(step, "all")]
        assert row["orders"] == len(values)
        values.sort()
        for column, fraction in (("median_hours", 0.5), ("p90_hours", 0.9)):
            exact = values[max(1, math.ceil(fraction * len(values))) - 1] / 3600
            got = float(row[column])
            assert abs(got - exact) <= max(0.011 * exact, 0.01), (step, column, got, exact)
        assert float(row["average_hours"]) == pytest.approx(statistics.mean(values) / 3600,
                                                            abs=0.006)


def test_order_quality_counts_created_rejected_cancelled_returned(api, orders):
    totals = api("order-quality", by="year")["totals"]
    assert totals["created"] == len(orders)
    for kind in ("rejected", "cancelled", "returned"):
        assert totals[kind] == sum(1 for o in orders
                                   if kind in {s for s, _ in o.events} | {o.status}), kind


def test_intake_refusals_are_recorded_and_counted_by_field(api, as_role, company):
    sales = as_role("sales")
    refused = sales.post("/api/orders", json={"customer_id": company.customer_ids[0],
                                              "channel": "web",
                                              "lines": [{"sku": "NOPE", "quantity": "1"}]})
    assert refused.status_code == 422
    totals = api("order-quality", by="year")["totals"]
    assert totals["intake_refused"] == 1
    fields = [p["field"] for p in refused.json["errors"]]
    assert totals["refused_by_field"] == dict.fromkeys(fields, 1)


def test_demand_forecast_seasonal_naive_repeats_last_season(api, orders):
    today = date.today()
    first = (today.replace(day=1) - timedelta(days=700)).replace(day=1)
    body = api("demand-forecast", group="category", by="quarter", horizon="2",
               **{"from": first.isoformat(), "to": today.isoformat()})
    quarters = []
    current = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    while current <= today:
        quarters.append(current)
        m = current.month + 3
        current = date(current.year + (m > 12), (m - 1) % 12 + 1, 1)
    units = defaultdict(Decimal)
    for o in oracle.sales(orders):
        for _sku, category, quantity, _total in o.lines:
            if first <= o.day <= today:
                q = date(o.day.year, 3 * ((o.day.month - 1) // 3) + 1, 1)
                units[(category, q)] += quantity
            if o.returned_on and first <= o.returned_on <= today:
                r = o.returned_on
                units[(category, date(r.year, 3 * ((r.month - 1) // 3) + 1, 1))] -= quantity
    rows = [r for r in body["rows"] if r["item"] == "tools"]
    assert len(rows) == 2
    history = [units[("tools", q)] for q in quarters]
    assert Decimal(rows[0]["seasonal_naive"]) == history[-4]
    assert Decimal(rows[1]["seasonal_naive"]) == history[-3]


def quarter_label(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def test_customers_per_quarter_fall_in_the_quarter_of_their_order(api, orders):
    # the quarter is computed in SQL on both backends: integer arithmetic, not a float
    # division (which put May in a "quarter" starting in May on SQLite)
    per_quarter = defaultdict(set)
    for o in oracle.sales(orders):
        per_quarter[quarter_label(o.day)].add(o.customer_id)
    body = api("customers-new-returning", by="quarter")
    assert {r["period"]: r["customers"] for r in body["rows"]} == {
        q: len(c) for q, c in per_quarter.items()}
    sales_rows = api("sales", by="quarter")["rows"]
    assert {r["period"]: r["customers"] for r in sales_rows if r["customers"]} == {
        q: len(c) for q, c in per_quarter.items()}


def test_sales_by_customer_lists_only_customers_with_a_sale(api, orders, app):
    from erpkit_orders import lifecycle
    from erpkit_orders.intake import create_order
    from erpkit_orders.models import Customer

    with app.app_context():
        session = db.session
        customer = Customer(name="Cancelled only", email="cancelled@example.com", code="CX")
        session.add(customer)
        session.commit()
        order = create_order(session, {"customer_id": customer.id, "channel": "web", "lines": [
            {"sku": "P00", "quantity": Decimal(2)}]}).order
        lifecycle.submit(session, order)
        assert order.status == "confirmed"
        lifecycle.cancel(session, order)
        session.commit()
        cancelled_only = customer.id
    revenue = defaultdict(Decimal)
    for o in oracle.sales(orders):
        revenue[o.customer_id] += o.total - (o.total if o.returned_on else 0)
    body = api("sales-by-customer")
    listed = {r["customer_id"] for r in body["rows"]}
    assert cancelled_only not in listed
    assert listed == set(revenue)
    assert body["totals"]["customers"] == len(revenue)


@pytest.mark.parametrize("by", ["week", "month", "quarter"])
def test_customers_and_repeat_customers_per_period_and_over_any_range(api, orders, by):
    # read from the customer spans (no row per customer): equal to counting the sales
    def period(day):
        year, week, _ = day.isocalendar()
        return {"week": f"{year}-W{week:02d}", "month": f"{day.year}-{day.month:02d}",
                "quarter": quarter_label(day)}[by]

    today = date.today()
    for first, last in ((today - timedelta(days=800), today),
                        (today - timedelta(days=390), today - timedelta(days=45))):
        sold = [o for o in oracle.sales(orders) if first <= o.day <= last]
        per_period = defaultdict(Counter)
        for o in sold:
            per_period[period(o.day)][o.customer_id] += 1
        body = api("sales", **{"from": first.isoformat(), "to": last.isoformat(), "by": by})
        got = {r["period"]: (r["customers"], r["repeat_customers"]) for r in body["rows"]
               if r["orders"]}
        assert got == {p: (len(c), sum(1 for n in c.values() if n >= 2))
                       for p, c in per_period.items()}
        everyone = Counter(o.customer_id for o in sold)
        assert (body["totals"]["customers"], body["totals"]["repeat_customers"]) == (
            len(everyone), sum(1 for n in everyone.values() if n >= 2))

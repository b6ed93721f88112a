"""The reports of the other modules (inventory, crm, approvals) and the edits after
submission of order-quality, each against an independent computation over the modules' own
rows (plain SQL and Python, no code of erpkit_reporting), on the run's backend."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit.auth import create_user
from erpkit.db import db, utcnow
from erpkit.parameters import get_value
from erpkit.testing import plugin_fixtures
from erpkit_approvals.decisions import approve, reject
from erpkit_approvals.evaluation import open_requests
from erpkit_approvals.rules import create_rule, load_definition
from erpkit_inventory import stock
from erpkit_inventory.models import Warehouse
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order, update_order
from erpkit_orders.models import Customer, Product

database_url, app, make_app = plugin_fixtures(
    {"orders", "reporting", "inventory", "crm", "approvals"}, "reporting_modules")

TODAY = date.today()
FAR = {"from": "2000-01-01", "to": (TODAY + timedelta(days=1)).isoformat()}


@pytest.fixture
def api(as_role):
    analyst = as_role("analyst")

    def get(name, **params):
        response = analyst.get(f"/api/reports/{name}", query_string=params)
        assert response.status_code == 200, response.json
        return response.json

    return get


@pytest.fixture
def shop(app) -> dict[str, Any]:
    """Products in stock, customers, an approver and a rule holding orders above 2,000."""
    with app.app_context():
        session = db.session
        create_user(session, "approver", "pass-word-2", ["approver"])
        warehouse = Warehouse(code="MAIN", name="Main")
        products = [Product(sku=f"S{i}", name=f"Stocked {i}", unit_price=Decimal("10.00") + i)
                    for i in range(3)]
        customers = [Customer(name=f"Buyer {i}", email=f"b{i}@example.com", country="DE",
                              code=f"B{i}") for i in range(7)]
        session.add_all([warehouse, *products, *customers])
        session.commit()
        for product, amount in zip(products, (10, 5000, 400), strict=True):
            stock.receive(session, product, warehouse, amount, actor="receiver")
        create_rule(session, load_definition({
            "name": "large orders",
            "conditions": [{"fact": "orders.total", "operator": ">", "value": "2000"}],
            "steps": [{"name": "large order", "role": "approver", "required": 1,
                       "time_limit": "2h"}]}), actor="admin")
        session.commit()
        return {"products": [p.id for p in products], "customers": [c.id for c in customers],
                "warehouse": warehouse.id}


def _order(session, shop, customer, quantities, channel="web"):
    return create_order(session, {
        "customer_id": shop["customers"][customer], "channel": channel,
        "lines": [{"product_id": shop["products"][i], "quantity": Decimal(q)}
                  for i, q in quantities.items()]}).order


def _ledger_days_ago(session, days: int, kind: str) -> None:
    """Move the ledger entries of ``kind`` back ``days`` days (a stock history)."""
    from erpkit_inventory.models import LedgerEntry

    for entry in session.scalars(sa.select(LedgerEntry).where(LedgerEntry.kind == kind)):
        entry.at = entry.at - timedelta(days=days)
    session.commit()


def test_inventory_turnover_days_of_cover_and_stock_outs_equal_the_ledger_replayed(
        app, shop, api):
    with app.app_context():
        session = db.session
        _ledger_days_ago(session, 6, "receipt")
        first = _order(session, shop, 0, {0: 10, 1: 30})  # all of S0: a stock-out today
        second = _order(session, shop, 1, {1: 50, 2: 20})
        for order in (first, second):
            lifecycle.submit(session, order)
            lifecycle.ship(session, order)
            session.commit()
        lifecycle.deliver(session, second)
        lifecycle.return_order(session, second)
        session.commit()
        _ledger_days_ago(session, 2, "shipment")
        ledger = session.execute(sa.text(
            "SELECT p.sku, e.kind, e.on_hand_change, e.at FROM inventory_ledger e "
            "JOIN orders_product p ON p.id = e.product_id")).all()
        session.commit()

    start, end = TODAY - timedelta(days=9), TODAY
    days = (end - start).days + 1
    expected = {}
    for sku in sorted({row[0] for row in ledger}):
        moves = [(kind, Decimal(str(change)), _day(at)) for s, kind, change, at in ledger
                 if s == sku]
        opening = sum((c for _, c, d in moves if d < start), Decimal(0))
        balances, balance = [], opening
        for offset in range(days):
            day = start + timedelta(days=offset)
            balance += sum((c for _, c, d in moves if d == day), Decimal(0))
            balances.append(balance)
        shipped = -sum((c for k, c, d in moves if k == "shipment" and start <= d <= end),
                       Decimal(0))
        returned = sum((c for k, c, d in moves if k == "return" and start <= d <= end),
                       Decimal(0))
        average = sum(balances, Decimal(0)) / days
        net = max(shipped - returned, Decimal(0))
        expected[sku] = {
            "shipped": shipped, "returned": returned,
            "average_on_hand": average.quantize(Decimal("0.001")),
            "on_hand_at_end": balances[-1],
            "turnover": (net / average).quantize(Decimal("0.01")) if average > 0 else None,
            "days_of_cover": (balances[-1] / (net / days)).quantize(Decimal("0.1"))
            if net > 0 else None,
            "stockout_days": sum(1 for b in balances if b <= 0)}

    body = api("inventory-turnover", **{"from": start.isoformat(), "to": end.isoformat()})
    got = {row["sku"]: {key: _number(row[key]) for key in expected["S0"]}
           for row in body["rows"]}
    assert got == expected
    # nothing on hand before the receipt (3 days) and since all of it was shipped (3 days)
    assert expected["S0"]["stockout_days"] == 6
    assert expected["S1"]["turnover"] is not None
    assert body["totals"]["products_stocked_out"] == sum(
        1 for e in expected.values() if e["stockout_days"])


def _day(value: Any) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()


def _number(value: Any) -> Any:
    return Decimal(value) if isinstance(value, str) else value


# --- crm ------------------------------------------------------------------------------


def _deliver_orders(session, shop) -> None:
    """Orders of the seven buyers, delivered (counted by crm), one returned."""
    plan = [(0, 1), (0, 2), (0, 1), (1, 8), (2, 1), (3, 3), (3, 1), (4, 2), (5, 12), (6, 1)]
    made = []
    for index, (customer, quantity) in enumerate(plan):
        order = _order(session, shop, customer, {1: quantity, 2: 1 + index % 2})
        lifecycle.submit(session, order)
        lifecycle.ship(session, order)
        lifecycle.deliver(session, order)
        session.commit()
        made.append(order)
    lifecycle.return_order(session, made[4])
    session.commit()
    # spread the orders over the past year, so recency differs
    for offset, order in enumerate(made):
        session.execute(sa.text("UPDATE orders_order SET ordered_at = :at WHERE id = :id"),
                        {"at": utcnow() - timedelta(days=30 * offset), "id": order.id})
    session.commit()


def _rfm_oracle(session) -> list[dict[str, Any]]:
    """crm's documented definition, computed here: counted orders, quintiles, segments."""
    rows = session.execute(sa.text(
        "SELECT o.customer_id, o.total, o.ordered_at FROM orders_order o "
        "WHERE o.status IN ('delivered', 'closed') AND o.id NOT IN "
        "(SELECT order_id FROM crm_returned_order)")).all()
    per: dict[int, list[Any]] = defaultdict(list)
    for customer_id, total, ordered_at in rows:
        per[customer_id].append((Decimal(str(total)), _day(ordered_at)))
    figures = {c: (max(d for _, d in v), len(v), sum(t for t, _ in v)) for c, v in per.items()}
    n = len(figures)

    def score(value, values):
        return 1 + 5 * sum(1 for other in values if other < value) // n

    segments = [("champions", (4, 5), (4, 5), (4, 5)), ("loyal", (3, 5), (3, 5), (1, 5)),
                ("new", (4, 5), (1, 1), (1, 5)), ("potential", (3, 5), (1, 3), (1, 5)),
                ("at_risk", (1, 2), (3, 5), (1, 5)), ("hibernating", (2, 2), (1, 2), (1, 5)),
                ("lost", (1, 1), (1, 2), (1, 5))]
    out = []
    for customer_id, (last, count, revenue) in figures.items():
        r = score(last, [f[0] for f in figures.values()])
        f = score(count, [f[1] for f in figures.values()])
        m = score(revenue, [f[2] for f in figures.values()])
        name = next((s for s, rr, ff, mm in segments
                     if rr[0] <= r <= rr[1] and ff[0] <= f <= ff[1] and mm[0] <= m <= mm[1]),
                    None)
        out.append({"customer_id": customer_id, "segment": name, "orders": count,
                    "revenue": revenue})
    return out


def test_customers_rfm_segment_sizes_and_revenue_equal_crms_definition_computed_here(
        app, shop, api):
    from erpkit_crm.segments import recompute

    with app.app_context():
        session = db.session
        _deliver_orders(session, shop)
        recompute(session)
        session.commit()
        scored = _rfm_oracle(session)
        margin = Decimal(str(get_value(session, "crm.clv_margin_percent")))
        session.commit()

    sizes = Counter(s["segment"] or "(none)" for s in scored)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for s in scored:
        revenue[s["segment"] or "(none)"] += s["revenue"]
    body = api("customers-rfm")
    got = {row["segment"]: (row["customers"], Decimal(row["revenue"])) for row in body["rows"]}
    assert got == {name: (sizes[name], revenue[name]) for name in sizes}
    assert len(got) >= 2  # the generated customers fall in different segments
    assert body["totals"]["customers"] == len(scored)
    assert Decimal(body["totals"]["revenue"]) == sum(s["revenue"] for s in scored)

    values = sorted((s["revenue"] * margin / 100).quantize(Decimal("0.01")) for s in scored)
    bands = [Decimal(b) for b in ("0", "100", "250", "500", "1000", "2500", "5000", "10000",
                                  "25000")]

    def band(value):
        return max(i for i, b in enumerate(bands) if value >= b)

    counts = Counter(band(v) for v in values)
    clv = api("customers-lifetime-value")
    assert [row["customers"] for row in clv["rows"]] == [counts[i] for i in range(len(bands))]
    assert [Decimal(row["lifetime_value"]) for row in clv["rows"]] == [
        sum((v for v in values if band(v) == i), Decimal(0)) for i in range(len(bands))]
    assert clv["totals"]["customers"] == len(values)
    assert Decimal(clv["totals"]["median"]) == values[math.ceil(0.5 * len(values)) - 1]


# --- approvals and edits after submission ------------------------------------------------


def test_approvals_cycle_and_edits_after_submission_equal_the_requests_and_the_timeline(
        app, shop, api, cli_modules):
    from erpkit.models import User

    with app.app_context():
        session = db.session
        approver = session.scalar(sa.select(User).where(User.login == "approver"))
        held = []
        for index in range(5):
            order = _order(session, shop, index, {1: 200 + index},
                           channel=("web", "phone")[index % 2])
            lifecycle.submit(session, order)  # above 2,000: held for approval
            session.commit()
            held.append(order)
        edited_draft = _order(session, shop, 6, {2: 1})
        update_order(session, edited_draft, {"notes": "a draft may change freely"})
        session.commit()
        for order in held[:3]:  # edited after submission; the first one twice
            update_order(session, order, {"lines": [{"product_id": shop["products"][1],
                                                     "quantity": Decimal(210)}]})
            session.commit()
        update_order(session, held[0], {"lines": [{"product_id": shop["products"][1],
                                                   "quantity": Decimal(211)}]})
        session.commit()
        # one step ran late: its limit passed before the decision
        first_request = open_requests(session, held[0].id)[0]
        session.execute(sa.text("UPDATE approvals_step SET due_at = :due WHERE request_id = :r"),
                        {"due": utcnow() - timedelta(hours=1), "r": first_request.id})
        session.commit()
        for order in held[:3]:
            approve(session, open_requests(session, order.id)[0].id, actor=approver)
            session.commit()
        reject(session, open_requests(session, held[3].id)[0].id, actor=approver,
               comment="not this month")
        session.commit()
        requests = session.execute(sa.text(
            "SELECT status, opened_at, closed_at FROM approvals_request")).all()
        steps = session.execute(sa.text(
            "SELECT completed_at, due_at FROM approvals_step")).all()
        timeline = session.execute(sa.text(
            "SELECT e.order_id, e.kind, e.to_status, e.at, o.channel FROM orders_timeline_event e "
            "JOIN orders_order o ON o.id = e.order_id ORDER BY e.id")).all()
        session.commit()

    decided = [(s, _at(o), _at(c)) for s, o, c in requests if s in ("approved", "rejected")]
    hours = sorted(int((c - o).total_seconds()) for _, o, c in decided)
    body = api("approvals-cycle", **FAR, by="year")
    totals = body["totals"]
    assert totals["decided"] == len(decided) == 4
    assert totals["approved"] == 3 and totals["rejected"] == 1
    assert Decimal(totals["average_hours"]) == (Decimal(sum(hours)) / len(hours) / 3600
                                                ).quantize(Decimal("0.01"))
    completed = [(_at(c), _at(d) if d else None) for c, d in steps if c is not None]
    assert totals["steps"] == len(completed)
    assert totals["steps_late"] == sum(1 for c, d in completed if d and c > d) == 1
    assert totals["steps_open_late"] == 0

    # edited after submission: an edit at or after the first move out of draft, once
    first_out: dict[int, datetime] = {}
    channel_of: dict[int, str] = {}
    edits: dict[int, list[datetime]] = defaultdict(list)
    for order_id, kind, to_status, at, channel in timeline:
        channel_of[order_id] = channel
        if kind == "status" and to_status and to_status != "draft":
            first_out.setdefault(order_id, _at(at))
        if kind == "edit":
            edits[order_id].append(_at(at))
    edited = {o for o, times in edits.items() if o in first_out
              and any(t >= first_out[o] for t in times)}
    assert len(edited) == 3
    quality = api("order-quality", **FAR, by="year")
    assert quality["totals"]["edited_after_submission"] == len(edited)
    assert Decimal(quality["totals"]["edited_after_submission_rate"]) == (
        Decimal(len(edited)) / quality["totals"]["created"]).quantize(Decimal("0.0001"))
    phone = api("order-quality", **FAR, by="year", channel="phone")
    assert phone["totals"]["edited_after_submission"] == sum(
        1 for o in edited if channel_of[o] == "phone")
    # a rebuild from the timeline gives the same counts as the hooks did
    result = cli_modules("report", "check")
    assert result.exit_code == 0, result.output


def _at(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.fixture
def cli_modules(app, database_url, monkeypatch):
    from click.testing import CliRunner

    from erpkit.cli import main

    def run(*args: str) -> Any:
        monkeypatch.setenv("ERPKIT_DATABASE_URL", database_url)
        monkeypatch.setenv("ERPKIT_PLUGINS", "orders,reporting,inventory,crm,approvals")
        state: dict[str, Any] = {}
        result = CliRunner().invoke(main, list(args), obj=state)
        if "app" in state:
            with state["app"].app_context():
                db.engine.dispose()
        return result

    return run

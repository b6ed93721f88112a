"""Figures for reporting over a generated history: inventory value, turnover, days of
cover and stock-outs per product, and purchase spend per supplier and period, each
checked against an independent computation from the generated events."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from erpkit.db import utcnow
from erpkit_purchasing import purchase_orders, receiving

from .conftest import days_before, q

CENTS = Decimal("0.01")
PLACES = (("A", "MAIN"), ("A", "SHOP"), ("B", "MAIN"))


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def generate_history(shop, today: date, days: int, seed: int = 7) -> list[tuple]:
    """Random receipts, shipments (never more than on hand) and returns, booked in the
    ledger; returns the events as (at, sku, warehouse, kind, change)."""
    rng = random.Random(seed)
    events: list[tuple] = []
    on_hand: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for day in days_before(today, days):
        for sku, code in PLACES:
            moves = []
            if rng.random() < 0.12:
                moves.append((at(day, 9), "receipt", q(rng.randint(5, 30))))
            served = min(on_hand[(sku, code)], q(rng.randint(0, 6)))
            if served > 0:
                moves.append((at(day, 15), "shipment", -served))
                if rng.random() < 0.1:
                    moves.append((at(day, 18), "return", q(1)))
            for when, kind, change in moves:
                on_hand[(sku, code)] += change
                shop.book(sku, code, kind, change, when)
                events.append((when, sku, code, kind, change))
    shop.session.commit()
    return events


def expected_figures(events, sku: str, code: str | None, first: date, last: date,
                     cost: Decimal | None) -> dict:
    """The figures computed straight from the events (the definitions on the
    purchasing page)."""
    mine = [e for e in events if e[1] == sku and (code is None or e[2] == code)]
    start = at(first, 0)
    balance = sum((e[4] for e in mine if e[0] < start), Decimal(0))
    days = (last - first).days + 1
    balances = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        balance += sum((e[4] for e in mine if e[0].date() == day), Decimal(0))
        balances.append(balance)
    inside = [e for e in mine if first <= e[0].date() <= last]
    shipped = -sum((e[4] for e in inside if e[3] == "shipment"), Decimal(0))
    returned = sum((e[4] for e in inside if e[3] == "return"), Decimal(0))
    average = sum(balances) / days
    net = shipped - returned
    moved = min((e[0].date() for e in mine), default=last + timedelta(days=1))
    out = [b <= 0 for offset, b in enumerate(balances)
           if first + timedelta(days=offset) >= moved]
    rounded = average.quantize(Decimal("0.001"))
    return {
        "sku": sku, "unit_cost": None if cost is None else f"{cost:.4f}",
        "shipped": f"{shipped:.3f}", "returned": f"{returned:.3f}",
        "average_on_hand": f"{rounded}", "on_hand_at_end": f"{balances[-1]:.3f}",
        "average_value": None if cost is None else f"{(rounded * cost).quantize(CENTS)}",
        "value_at_end": None if cost is None else f"{(balances[-1] * cost).quantize(CENTS)}",
        "turnover": f"{(net / average).quantize(CENTS)}" if average > 0 else None,
        "days_of_cover": (f"{(balances[-1] / (net / days)).quantize(Decimal('0.1'))}"
                          if net > 0 else None),
        "stockout_days": sum(out),
        "stockouts": sum(1 for i, o in enumerate(out) if o and (i == 0 or not out[i - 1])),
    }


@pytest.fixture
def history(shop):
    for sku in ("A", "B"):
        shop.product(sku)
    for code in ("MAIN", "SHOP"):
        shop.warehouse(code)
    cheap, usual = shop.supplier("CHEAP"), shop.supplier("USUAL")
    shop.offer(cheap, "A", price=Decimal("2.10"))
    shop.offer(usual, "A", price=Decimal("2.50"), preferred=True)  # B has no offer
    today = utcnow().date()
    return today, generate_history(shop, today, 150)


def test_figures_per_product_match_an_independent_computation(history, as_role, cli):
    today, events = history
    first, last = today - timedelta(days=89), today - timedelta(days=5)
    analyst = as_role("analyst")
    outs = []
    for code in (None, "MAIN", "SHOP"):
        where = f"&warehouse={code}" if code else ""
        answer = analyst.get(f"/api/purchasing/figures?first={first}&last={last}{where}")
        assert answer.status_code == 200, answer.get_json()
        got = {row["sku"]: row for row in answer.get_json()}
        assert sorted(got) == ["A", "B"]  # B never moved in SHOP: zeros, no stock-outs
        for sku in ("A", "B"):
            wanted = expected_figures(events, sku, code, first, last,
                                      Decimal("2.50") if sku == "A" else None)
            assert {k: got[sku][k] for k in wanted} == wanted, (sku, code)
            outs.append(got[sku]["stockout_days"])
    # The history ran out of stock now and then: the figure is not trivially 0.
    assert max(outs) > 0 and 0 in outs

    printed = cli("purchasing", "figures", "--from", str(first), "--to", str(last), "--json")
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == analyst.get(
        f"/api/purchasing/figures?first={first}&last={last}").get_json()
    table = cli("purchasing", "figures", "--from", str(first), "--to", str(last))
    value_a = expected_figures(events, "A", None, first, last, Decimal("2.50"))["value_at_end"]
    assert table.output.splitlines()[-1] == f"inventory value at the end: {value_a}"


def test_figures_take_a_bounded_period_and_a_capped_page(history, as_role, shop):
    analyst = as_role("analyst")
    shop.set("core.max_report_days", 60)
    too_long = analyst.get("/api/purchasing/figures?first=2026-01-01&last=2026-03-31")
    assert too_long.status_code == 422
    assert "at most 60 days" in str(too_long.get_json()) and "last" in str(too_long.get_json())
    backwards = analyst.get("/api/purchasing/figures?first=2026-02-01&last=2026-01-01")
    assert backwards.status_code == 422 and "ends before it starts" in str(backwards.get_json())
    assert analyst.get("/api/purchasing/figures?first=2026-01-01&last=2026-01-02"
                       "&limit=501").status_code == 422
    page = analyst.get("/api/purchasing/figures?first=2026-01-01&last=2026-01-02&limit=1")
    assert [row["sku"] for row in page.get_json()] == ["A"]
    rest = analyst.get("/api/purchasing/figures?first=2026-01-01&last=2026-01-02&after=A")
    assert [row["sku"] for row in rest.get_json()] == ["B"]
    unknown = analyst.get("/api/purchasing/figures?first=2026-01-01&last=2026-01-02"
                          "&warehouse=NOPE")
    assert unknown.status_code == 422 and "warehouse" in str(unknown.get_json())


def test_purchase_spend_per_supplier_and_period_matches_the_receipts(shop, as_role, users):
    for sku in ("A", "B"):
        shop.product(sku)
    shop.warehouse("MAIN")
    boss = users.create("boss", "admin")
    rng = random.Random(3)
    received: list[tuple[str, datetime, Decimal]] = []
    for code in ("S1", "S2"):
        shop.supplier(code, email=None)
    for index in range(8):
        code = ("S1", "S2")[index % 2]
        order = purchase_orders.create_order(
            shop.session, supplier=code, warehouse="MAIN", actor="test",
            lines=[{"sku": "A", "quantity": q(rng.randint(1, 9)),
                    "unit_price": Decimal(rng.randint(100, 999)) / 100},
                   {"sku": "B", "quantity": q(rng.randint(1, 9)),
                    "unit_price": Decimal("1.3333")}])
        purchase_orders.approve(shop.session, order, actor=boss)
        purchase_orders.send(shop.session, order, actor="test")
        when = datetime(2026, 1 + index, 10, 12, tzinfo=UTC)
        for line in order.lines:
            receiving.receive_line(shop.session, order.id, line.id, line.quantity,
                                   actor="test", at=when)
            received.append((code, when, (line.quantity * line.unit_price).quantize(CENTS)))
        shop.session.commit()
    answer = as_role("analyst").get(
        "/api/purchasing/spend?first=2026-01-01&last=2026-12-31&by=quarter")
    assert answer.status_code == 200, answer.get_json()
    wanted: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for code, when, amount in received:
        wanted[(code, f"2026-Q{(when.month - 1) // 3 + 1}")].append(amount)
    assert answer.get_json() == [
        {"supplier": code, "period": period, "amount": f"{sum(amounts):.2f}",
         "receipts": len(amounts)} for (code, period), amounts in sorted(wanted.items())]
    bad = as_role("analyst").get("/api/purchasing/spend?first=2026-01-01&last=2026-12-31"
                                 "&by=week")
    assert bad.status_code == 422 and "by" in str(bad.get_json())

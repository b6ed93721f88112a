"""The policy simulation: today's replenishment policy and a new one replayed day by day
over a small generated demand history, checked against an independent replay written
from the purchasing page's description."""

from __future__ import annotations

import json
import math
import statistics
from decimal import Decimal
from statistics import NormalDist

import pytest

from .conftest import PERIOD, WARM_UP, q


def independent_replay(demand: list[Decimal], opening: Decimal, *, level: float, review: int,
                       window: int, lead: int, lead_spread: float, cycle_units: float | None,
                       cycle_days: float | None, pack: int, minimum: int) -> dict:
    """The replay as the page describes it, in floats and plain loops."""
    z = round(NormalDist().inv_cdf(level), 6)
    period = lead + review - 1
    start = len(demand) - PERIOD
    on_hand, pipeline, due = float(opening), 0.0, {}
    held = served = 0.0
    out_days = orders = 0
    ordered = 0.0
    for day in range(PERIOD):
        arrived = due.pop(day, 0.0)
        on_hand += arrived
        pipeline -= arrived
        wanted = float(demand[start + day])
        sold = min(on_hand, wanted)
        on_hand -= sold
        served += sold
        out_days += sold < wanted
        held += on_hand
        if day % review == 0:
            recent = [float(x) for x in demand[start + day - window + 1:start + day + 1]]
            d, s = statistics.mean(recent), statistics.stdev(recent)
            point = d * period + z * math.sqrt(period * s ** 2 + d ** 2 * lead_spread ** 2)
            cycle = d * cycle_days if cycle_days is not None else cycle_units
            if on_hand + pipeline <= point:
                need = point + cycle - (on_hand + pipeline)
                amount = max(1, math.ceil(max(need, minimum) / pack)) * pack
                due[day + lead] = due.get(day + lead, 0.0) + amount
                pipeline += amount
                orders, ordered = orders + 1, ordered + amount
    total = float(sum(demand[start:]))
    return {"average_on_hand": round(held / PERIOD, 3), "stockout_days": out_days,
            "fill_rate": round(served / total, 4), "orders": orders, "ordered": ordered,
            "ending_on_hand": on_hand}


def outcome_figures(outcome: dict) -> dict:
    return {"average_on_hand": float(outcome["average_on_hand"]),
            "stockout_days": outcome["stockout_days"],
            "fill_rate": float(outcome["fill_rate"]), "orders": outcome["orders"],
            "ordered": float(outcome["ordered"]),
            "ending_on_hand": float(outcome["ending_on_hand"])}


def test_a_new_policy_replayed_over_past_demand_matches_an_independent_replay(kettles,
                                                                             as_role, cli):
    first, last, demand = kettles
    query = (f"/api/purchasing/simulation?first={first}&last={last}&service_level=0.8"
             "&review_period_days=7&demand_window_days=21&cycle_days=3")
    answer = as_role("analyst").get(query)
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    [row] = result["products"]
    assert (row["sku"], row["warehouse"], row["unit_cost"], row["opening_on_hand"]) == (
        "K-1", "MAIN", "4.0000", "12.000")
    assert row["before"]["policy"] == {
        "service_level": "0.9500", "review_period_days": 1, "demand_window_days": 14,
        "lead_time_days": "3.00", "lead_time_spread": "0.00", "cycle_stock": "10.000",
        "cycle_days": None, "pack_size": "5.000", "min_order_quantity": "10.000"}
    assert row["after"]["policy"]["service_level"] == "0.8000"

    common = {"lead": 3, "lead_spread": 0.0, "pack": 5, "minimum": 10}
    before = independent_replay(demand, q(12), level=0.95, review=1, window=14,
                                cycle_units=10.0, cycle_days=None, **common)
    after = independent_replay(demand, q(12), level=0.8, review=7, window=21,
                               cycle_units=None, cycle_days=3.0, **common)
    assert outcome_figures(row["before"]) == pytest.approx(before, abs=1e-9)
    assert outcome_figures(row["after"]) == pytest.approx(after, abs=1e-9)
    total = float(sum(demand[WARM_UP:]))
    assert float(row["before"]["demand"]) == total
    assert float(row["before"]["served"]) + float(row["before"]["lost"]) == total
    # Value = average on hand x the replacement cost; the totals and the change follow.
    for name in ("before", "after"):
        assert Decimal(row[name]["average_value"]) == (
            Decimal(row[name]["average_on_hand"]) * 4).quantize(Decimal("0.01"))
    assert (result["before_value"], result["after_value"]) == (
        row["before"]["average_value"], row["after"]["average_value"])
    before_value, after_value = Decimal(result["before_value"]), Decimal(result["after_value"])
    assert Decimal(result["change_percent"]) == (
        (after_value - before_value) * 100 / before_value).quantize(Decimal("0.1"))
    # The replays differ: the history is not one where every policy does the same.
    assert before != after and before["orders"] > 0
    # What really happened: the ledger's on hand stayed at 12 (demand was booked as
    # shipments of stock received the same day).
    assert row["actual"] == {"average_on_hand": "12.000", "average_value": "48.00",
                             "stockout_days": 0}

    printed = cli("purchasing", "simulate", "--from", str(first), "--to", str(last),
                  "--service-level", "0.8", "--review-days", "7", "--window-days", "21",
                  "--cycle-days", "3", "--json")
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == result
    table = cli("purchasing", "simulate", "--from", str(first), "--to", str(last),
                "--service-level", "0.8")
    assert table.exit_code == 0, table.output
    assert "K-1 in MAIN" in table.output and "average inventory value" in table.output


def test_without_changes_the_new_policy_is_todays(kettles, as_role):
    first, last, _demand = kettles
    [row] = as_role("analyst").get(
        f"/api/purchasing/simulation?first={first}&last={last}").get_json()["products"]
    assert row["before"] == row["after"]


@pytest.mark.parametrize(("query", "field"), [
    ("service_level=1.5", "service_level"), ("review_period_days=0", "review_period_days"),
    ("demand_window_days=1", "demand_window_days"), ("lead_time_days=-1", "lead_time_days"),
    ("limit=101", "limit"), ("sku=NOPE", "sku"), ("warehouse=NOPE", "warehouse"),
])
def test_bad_policy_input_is_a_422_naming_the_field(kettles, as_role, query, field):
    first, last, _demand = kettles
    answer = as_role("analyst").get(
        f"/api/purchasing/simulation?first={first}&last={last}&{query}")
    assert answer.status_code == 422, answer.get_json()
    assert field in str(answer.get_json())


def test_a_simulation_period_is_bounded(kettles, as_role, shop):
    shop.set("core.max_report_days", 30)
    answer = as_role("analyst").get(
        "/api/purchasing/simulation?first=2026-01-01&last=2026-03-01")
    assert answer.status_code == 422 and "at most 30 days" in str(answer.get_json())

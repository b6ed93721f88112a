"""Replenishment: suggestions explained in words, low-stock alerts and their hook, and the
figures (turnover, days of cover)."""

from __future__ import annotations

import types
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from erpkit import PluginMeta, hookimpl
from erpkit.db import db, utcnow
from erpkit_inventory import stock
from erpkit_inventory.figures import figures
from erpkit_inventory.models import LedgerEntry, LowStockAlert
from erpkit_inventory.replenishment import set_rule, suggestions
from erpkit_orders import lifecycle

from .conftest import Shop, q


def rule(shop, sku, warehouse=None, *, point, up_to, lead):
    product = stock.product_by_sku(shop.session, sku)
    where = stock.warehouse_by_code(shop.session, warehouse).id if warehouse else None
    set_rule(shop.session, product.id, where, reorder_point=Decimal(point),
             order_up_to=Decimal(up_to), lead_time_days=lead)
    shop.session.commit()


def sell(shop, sku, amount):
    """Confirm and ship an order of ``amount``: demand, as the ledger records it."""
    order = shop.order({sku: amount})
    lifecycle.ship(shop.session, order.id)
    return order


def backdate(shop, kind, days):
    """Move the ledger rows of ``kind`` written so far ``days`` into the past (history)."""
    shop.session.execute(sa.update(LedgerEntry).where(
        LedgerEntry.kind == kind, LedgerEntry.at > utcnow() - timedelta(hours=1))
        .values(at=utcnow() - timedelta(days=days)))
    shop.session.commit()


def test_below_the_reorder_point_it_suggests_ordering_today_and_says_why(shop):
    shop.set("inventory.demand_window_days", "7")
    shop.receive("W-1", "MAIN", 20)
    rule(shop, "W-1", point=10, up_to=40, lead=5)
    sell(shop, "W-1", 12)

    [suggestion] = suggestions(shop.session)

    today = utcnow().date()
    assert (suggestion.sku, suggestion.warehouse, suggestion.order_on, suggestion.quantity,
            suggestion.arrives_on) == ("W-1", None, today, q(32), today + timedelta(days=5))
    assert suggestion.explanation == (
        "W-1 (all warehouses): available 8 (on hand 8, reserved 0) is below the reorder "
        "point 10. Order 32 today to bring it up to 40; the supplier's 5-day lead time puts "
        f"delivery on {(today + timedelta(days=5)).isoformat()}. Meanwhile demand averages "
        "1.71 a day (12 in shipments over the last 7 days), about 8.571 over the lead time. "
        "At that rate it runs out about 1 day before the delivery.")


def test_it_suggests_ordering_on_the_day_demand_takes_stock_below_the_point(shop):
    shop.set("inventory.demand_window_days", "7")
    shop.receive("W-1", "MAIN", 30)
    rule(shop, "W-1", "MAIN", point=10, up_to=40, lead=3)
    sell(shop, "W-1", 14)  # 2 a day; 16 left: 3 days to the reorder point

    [suggestion] = suggestions(shop.session)

    assert suggestion.order_on == utcnow().date() + timedelta(days=3)
    assert suggestion.quantity == q(30)  # from the 10 expected then up to 40
    assert suggestion.explanation.startswith(
        "W-1 in MAIN: available 16 (on hand 16, reserved 0) will fall below the reorder "
        "point 10 in about 3 days at the current demand.")

    shop.set("inventory.replenish_horizon_days", "2")
    assert suggestions(shop.session) == []


def test_backorders_count_against_a_product_rule_and_packs_round_up(shop):
    shop.product("BOX-6", pack_size=6)
    shop.receive("BOX-6", "MAIN", 12)
    shop.set("inventory.shortage_policy", "backorder")
    shop.order({"BOX-6": 18})  # 12 reserved, 6 backordered
    rule(shop, "BOX-6", point=6, up_to=20, lead=2)

    [suggestion] = suggestions(shop.session)

    assert (suggestion.backordered, suggestion.position) == (q(6), q(-6))
    assert suggestion.quantity == q(30)  # 26 needed: 5 packs of 6
    assert "available 0 (on hand 12, reserved 12) less 6 backordered" in suggestion.explanation


def test_seasonality_scales_demand_by_last_years_pace(shop):
    shop.set("inventory.demand_window_days", "7")
    shop.set("inventory.seasonality", "last_year")
    shop.receive("W-1", "MAIN", 50)
    rule(shop, "W-1", point=10, up_to=100, lead=5)
    sell(shop, "W-1", 7)  # a year and a week ago: 1 a day
    backdate(shop, "shipment", 365 + 3)
    sell(shop, "W-1", 10)  # a year ago, in the days that are now ahead: 2 a day
    backdate(shop, "shipment", 365 - 2)
    sell(shop, "W-1", 7)  # this week: 1 a day, planned as 2 a day

    [suggestion] = suggestions(shop.session)

    assert suggestion.daily_demand == Decimal(2)
    assert suggestion.order_on == utcnow().date() + timedelta(days=8)  # (26 - 10) / 2
    assert ("; scaled by 2.00 for the season: last year the 5 days ahead saw 2.00 a day "
            "against 1.00 in the same 7 days, so plan with 2.00 a day") in suggestion.explanation


def test_the_replenish_command_prints_each_suggestion_with_its_reason(shop, cli):
    shop.receive("W-1", "MAIN", 5)
    rule(shop, "W-1", point=10, up_to=30, lead=4)

    result = cli("inventory", "replenish")

    assert result.exit_code == 0, result.output
    first, reason = result.output.splitlines()[:2]
    assert first == f"{utcnow().date().isoformat()}  order 25 W-1"
    assert reason.strip().startswith("W-1 (all warehouses): available 5")


def _watcher(calls):
    module = types.ModuleType("inprocess_watcher")
    module.PLUGIN = PluginMeta(name="watcher", requires=("inventory",))

    def erpkit_inventory_low_stock(product, warehouse, available, reorder_point):
        calls.append((product.sku, warehouse.code if warehouse else None, available,
                      reorder_point))

    module.erpkit_inventory_low_stock = hookimpl(erpkit_inventory_low_stock)
    return module


def test_falling_below_a_reorder_point_fires_the_hook_once_and_lists_an_alert(
        make_app, shop, users):
    shop.receive("W-1", "MAIN", 10)
    rule(shop, "W-1", "MAIN", point=5, up_to=20, lead=3)
    calls = []
    watched = make_app(EXTRA_PLUGINS=[_watcher(calls)])
    headers = users.headers("analyst")

    with watched.app_context():
        other = Shop(db.session)
        other.order({"W-1": 6})  # 4 left: below 5
        other.order({"W-1": 1})  # still below: no second crossing
        assert calls == [("W-1", "MAIN", q(4), q(5))]
        alerts = watched.test_client().get("/api/inventory/alerts",
                                           headers=headers).json["items"]
        assert [(a["sku"], a["warehouse"], a["available"]) for a in alerts] == [
            ("W-1", "MAIN", "4.000")]

        other.receive("W-1", "MAIN", 10)  # 13 available again: resolved
        assert db.session.scalar(sa.select(LowStockAlert.resolved_at)) is not None
        assert watched.test_client().get("/api/inventory/alerts", headers=headers).json == {
            "items": [], "next": None}


def test_rules_are_set_through_the_api(client, users, shop):
    headers = users.headers("warehouse")
    answer = client.put("/api/inventory/rules", headers=headers, json={
        "sku": "W-1", "warehouse": "MAIN", "reorder_point": "5", "order_up_to": "3",
        "lead_time_days": 2})
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == "order_up_to"

    answer = client.put("/api/inventory/rules", headers=headers, json={
        "sku": "W-1", "warehouse": None, "reorder_point": "5", "order_up_to": "30",
        "lead_time_days": 2})
    assert answer.status_code == 200
    [suggestion] = client.get("/api/inventory/replenishment", headers=headers).json["items"]
    assert suggestion["quantity"] == "30.000"


def test_turnover_and_days_of_cover_replay_the_ledger(shop, client, users, cli):
    headers = users.headers("analyst")
    shop.receive("W-1", "MAIN", 10)
    backdate(shop, "receipt", 9)
    sell(shop, "W-1", 4)
    today = utcnow().date()

    [widget] = figures(shop.session, today - timedelta(days=9), today, sku="W-1")

    # on hand 10 for nine days, then 6: 9.6 on average; 4 shipped in 10 days
    assert (widget.shipped, widget.average_on_hand, widget.on_hand_at_end) == (
        q(4), q("9.6"), q(6))
    assert (widget.turnover, widget.days_of_cover) == (Decimal("0.42"), Decimal("15.0"))

    start = (today - timedelta(days=9)).isoformat()
    answer = client.get(f"/api/inventory/figures?from={start}&to={today.isoformat()}",
                        headers=headers).json
    assert [(f["sku"], f["turnover"], f["days_of_cover"]) for f in answer] == [
        ("W-1", "0.42", "15.0")]
    printed = cli("inventory", "figures", "--from", start, "--sku", "W-1")
    assert printed.exit_code == 0, printed.output
    assert printed.output.splitlines()[-1].split() == ["W-1", "4", "0", "9.6", "0.42", "15.0"]

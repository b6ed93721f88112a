"""``erpkit purchasing ...``: suggestions, drafts from them, the branch plan, spend,
figures and the policy simulation."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import click

from erpkit.cli import refuse_bad_input
from erpkit.db import db, utcnow
from erpkit.parameters import get_value
from erpkit.schemas import check_period
from erpkit.transitions import run_atomic
from erpkit_inventory.stock import product_by_sku, show, warehouse_by_code
from erpkit_purchasing import branches, planning, purchase_orders, schemas, simulation
from erpkit_purchasing import figures as figures_module
from erpkit_purchasing.spend import spend as spend_rows

DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.group("purchasing")
def purchasing() -> None:
    """Purchasing: what to buy, drafts, the branch plan, spend, figures, simulations."""


def _period(first: datetime | None, last: datetime | None, days: int = 30) -> tuple[date, date]:
    """``--from``/``--to`` as days (default: the ``days`` days to today), bounded by
    ``core.max_report_days``."""
    end = last.date() if last else utcnow().date()
    start = first.date() if first else end - timedelta(days=days - 1)
    check_period(start, end, int(get_value(db.session, "core.max_report_days")), field="--to")
    return start, end


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@purchasing.command("suggest")
@click.option("--draft", is_flag=True, help="Also make the draft purchase orders.")
@refuse_bad_input
def suggest(draft: bool) -> None:
    """What to buy now and why (measured lead times, safety stock)."""
    found = planning.purchase_suggestions(db.session)
    if not found:
        click.echo("nothing to buy now")
        return
    for item in found:
        click.echo(f"{item.supplier}  buy {show(item.quantity)} {item.sku} into {item.warehouse}")
        click.echo(f"    {item.explanation}")
    if draft:
        made = run_atomic(db.session, lambda: purchase_orders.drafts_from_suggestions(
            db.session, found, actor="cli"))
        click.echo("drafted " + ", ".join(order.number for order in made))


@purchasing.command("plan")
@click.argument("central")
@click.option("--apply", "apply_it", is_flag=True,
              help="Dispatch the transfers and draft the purchases.")
@refuse_bad_input
def plan(central: str, apply_it: bool) -> None:
    """The branch plan of the CENTRAL warehouse: transfers and purchases."""
    found = branches.plan_for(db.session, warehouse_by_code(db.session, central, "CENTRAL"))
    for item in found.transfers:
        click.echo(f"transfer {show(item.quantity)} {item.sku} {item.source} -> "
                   f"{item.warehouse} (need {show(item.need)}, demand {item.demand:.2f}/day)")
    for buy in found.purchases:
        click.echo(f"buy {show(buy.quantity)} {buy.sku} from {buy.supplier}: {buy.explanation}")
    if not found.transfers and not found.purchases:
        click.echo("nothing to transfer or buy")
    if apply_it:
        def apply() -> Any:
            purchase_orders.drafts_from_suggestions(db.session, found.purchases, actor="cli")
            return branches.apply_plan(db.session, found, actor="cli")
        made = run_atomic(db.session, apply)
        click.echo(f"dispatched {len(made)} transfer(s)")


@purchasing.command("spend")
@click.option("--days", default=365, show_default=True, help="Days back from today.")
@click.option("--by", type=click.Choice(["month", "quarter", "year"]), default="month",
              show_default=True, help="The length of a period.")
@refuse_bad_input
def spend(days: int, by: str) -> None:
    """Value received per supplier and period."""
    first, last = _period(None, None, days)
    for row in spend_rows(db.session, first, last, by=by):
        click.echo(f"{row.period}  {row.supplier:<16}{row.amount:>14}  ({row.receipts} receipts)")


@purchasing.command("figures")
@click.option("--from", "first", type=DAY, help="First day (default: 30 days before the last).")
@click.option("--to", "last", type=DAY, help="Last day (default: today, UTC).")
@click.option("--sku", help="One product; every product with stock moves when left out.")
@click.option("--warehouse", help="One warehouse's code; all when left out.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="The API's JSON instead of a table.")
@refuse_bad_input
def figures(first: datetime | None, last: datetime | None, sku: str | None,
            warehouse: str | None, limit: int, as_json: bool) -> None:
    """Inventory value, turnover, days of cover and stock-outs per product."""
    start, end = _period(first, last)
    if sku:
        product_by_sku(db.session, sku, "--sku")
    place = warehouse_by_code(db.session, warehouse, "--warehouse") if warehouse else None
    rows = figures_module.figures(db.session, start, end, sku=sku, warehouse=place, limit=limit)
    if as_json:
        click.echo(json.dumps(schemas.StockFiguresSchema(many=True).dump(rows)))
        return
    click.echo(f"{start.isoformat()} to {end.isoformat()}"
               + (f", warehouse {warehouse}" if warehouse else ""))
    click.echo(f"{'sku':<14}{'unit cost':>10}{'avg on hand':>12}{'avg value':>12}"
               f"{'value at end':>14}{'turnover':>9}{'cover':>7}{'out days':>9}")
    for row in rows:
        click.echo(f"{row.sku:<14}{_money(row.unit_cost):>10}{show(row.average_on_hand):>12}"
                   f"{_money(row.average_value):>12}{_money(row.value_at_end):>14}"
                   f"{row.turnover if row.turnover is not None else '-':>9}"
                   f"{row.days_of_cover if row.days_of_cover is not None else '-':>7}"
                   f"{row.stockout_days:>9}")
    click.echo(f"inventory value at the end: {figures_module.total_value(rows):.2f}")


@purchasing.command("simulate")
@click.option("--from", "first", type=DAY, help="First day (default: 90 days before the last).")
@click.option("--to", "last", type=DAY, help="Last day (default: today, UTC).")
@click.option("--sku", help="One product; every planned product (up to --limit) when left out.")
@click.option("--warehouse", help="Only the rules of this warehouse.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--service-level", type=click.FloatRange(0.5, 0.9999),
              help="New service level.")
@click.option("--review-days", type=click.IntRange(1, 90), help="Review every N days.")
@click.option("--window-days", type=click.IntRange(2, 365),
              help="Days of demand behind the mean and spread.")
@click.option("--lead-time", type=click.FloatRange(0, 365), help="Lead time in days.")
@click.option("--lead-time-spread", type=click.FloatRange(0, 365),
              help="Lead-time standard deviation in days.")
@click.option("--cycle-days", type=click.FloatRange(0, 365),
              help="Days of mean demand ordered on top of the reorder point.")
@click.option("--json", "as_json", is_flag=True, help="The API's JSON instead of a table.")
@refuse_bad_input
def simulate(first: datetime | None, last: datetime | None, sku: str | None,
             warehouse: str | None, limit: int, as_json: bool, **policy: Any) -> None:
    """Replay today's policy and a new one over past demand, day by day."""
    start, end = _period(first, last, 90)
    if sku:
        product_by_sku(db.session, sku, "--sku")
    place = warehouse_by_code(db.session, warehouse, "--warehouse").id if warehouse else None
    names = {"service_level": "service_level", "review_days": "review_period_days",
             "window_days": "demand_window_days", "lead_time": "lead_time_days",
             "lead_time_spread": "lead_time_spread", "cycle_days": "cycle_days"}
    changes = {names[key]: (value if isinstance(value, int) else Decimal(str(value)))
               for key, value in policy.items() if value is not None}
    result = simulation.simulate(db.session, start, end, changes, sku=sku, warehouse_id=place,
                                 limit=limit)
    if as_json:
        click.echo(json.dumps(schemas.SimulationSchema().dump(result)))
        return
    click.echo(f"{start.isoformat()} to {end.isoformat()}: today's policy -> the new one")
    for row in result.products:
        where = row.warehouse or "all warehouses"
        before, after = row.before, row.after
        click.echo(f"{row.sku} in {where} (unit cost {row.unit_cost:.2f}, actual average "
                   f"value {_money(row.actual.average_value)})")
        click.echo(f"    average value {_money(before.average_value)} -> "
                   f"{_money(after.average_value)}; stock-out days {before.stockout_days} -> "
                   f"{after.stockout_days}; fill rate {before.fill_rate} -> {after.fill_rate}; "
                   f"orders {before.orders} -> {after.orders}")
    if not result.products:
        click.echo("no planned product with a supplier to simulate")
        return
    change = f" ({result.change_percent:+}%)" if result.change_percent is not None else ""
    click.echo(f"average inventory value {result.before_value:.2f} -> "
               f"{result.after_value:.2f}{change}")

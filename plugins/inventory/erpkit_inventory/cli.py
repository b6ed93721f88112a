"""``erpkit inventory ...``: the drift check, replenishment suggestions and figures."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date
from typing import Any

import click

from erpkit import ValidationFailed
from erpkit.cli import refuse_bad_input
from erpkit.db import db
from erpkit.schemas import FIRST_DAY, LAST_DAY, report_period
from erpkit_inventory import figures as figures_module
from erpkit_inventory import replenishment
from erpkit_inventory.ledger import check_drift
from erpkit_inventory.stock import product_by_sku, show, warehouse_by_code


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


@click.group("inventory")
def inventory() -> None:
    """Stock: drift check, replenishment, figures."""


@inventory.command("check")
def check() -> None:
    """Recompute every stock level from the ledger and the reservations; exit 1 on drift."""
    drifts = check_drift(db.session)
    if not drifts:
        click.echo("stock levels match the ledger and the reservations")
        return
    for drift in drifts:
        click.secho(f"drift: {drift}", fg="red", err=True)
    click.secho(f"{len(drifts)} figure(s) drifted", fg="red", err=True)
    sys.exit(1)


@inventory.command("replenish")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Plan as if today were this day (default: today, UTC).")
@click.option("--json", "as_json", is_flag=True)
def replenish(today: Any, as_json: bool) -> None:
    """Suggest what to reorder, how much and when, and say why."""
    found = replenishment.suggestions(db.session, today.date() if today else None)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in found], default=_json_default))
        return
    if not found:
        click.echo("nothing to reorder within the horizon")
        return
    for suggestion in found:
        where = f" for {suggestion.warehouse}" if suggestion.warehouse else ""
        click.echo(f"{suggestion.order_on.isoformat()}  order {show(suggestion.quantity)} "
                   f"{suggestion.sku}{where}")
        click.echo(f"    {suggestion.explanation}")


@inventory.command("figures")
@click.option("--from", "first", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First day (default: 30 days before the last).")
@click.option("--to", "last", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last day (default: today, UTC).")
@click.option("--sku", help="One product; every product with stock moves when left out.")
@click.option("--warehouse", help="One warehouse's code; all when left out.")
@click.option("--json", "as_json", is_flag=True)
@refuse_bad_input
def figures(first: Any, last: Any, sku: str | None, warehouse: str | None,
            as_json: bool) -> None:
    """Inventory turnover and days of cover per product for a period (at most
    ``core.max_report_days`` days, like the API's)."""
    for day, option in ((first, "--from"), (last, "--to")):
        if day is not None and not FIRST_DAY <= day.date() <= LAST_DAY:
            raise ValidationFailed.single(option, f"must be a day from {FIRST_DAY} to "
                                          f"{LAST_DAY}", code="out_of_range")
    start, end = report_period(first.date() if first else None,
                               last.date() if last else None, names=("--from", "--to"))
    if sku:
        product_by_sku(db.session, sku, "--sku")
    place = warehouse_by_code(db.session, warehouse, "--warehouse") if warehouse else None
    rows = figures_module.figures(db.session, start, end, sku=sku, warehouse=place)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], default=_json_default))
        return
    click.echo(f"{start.isoformat()} to {end.isoformat()}"
               + (f", warehouse {warehouse}" if warehouse else ""))
    click.echo(f"{'sku':<16}{'shipped':>10}{'returned':>10}{'avg on hand':>13}"
               f"{'turnover':>10}{'days of cover':>15}")
    for row in rows:
        turnover = str(row.turnover) if row.turnover is not None else "-"
        cover = str(row.days_of_cover) if row.days_of_cover is not None else "-"
        click.echo(f"{row.sku:<16}{show(row.shipped):>10}{show(row.returned):>10}"
                   f"{show(row.average_on_hand):>13}{turnover:>10}{cover:>15}")

"""``erpkit purchasing ...``: suggestions, drafts from them, the branch plan, spend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from erpkit.cli import refuse_bad_input
from erpkit.db import db, utcnow
from erpkit.transitions import run_atomic
from erpkit_inventory.stock import show, warehouse_by_code
from erpkit_purchasing import branches, planning, purchase_orders
from erpkit_purchasing.spend import spend as spend_rows


@click.group("purchasing")
def purchasing() -> None:
    """Purchasing: what to buy, drafts, the branch plan, spend."""


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
def spend(days: int) -> None:
    """Value received per supplier and month."""
    last = utcnow().date()
    for row in spend_rows(db.session, last - timedelta(days=days - 1), last):
        click.echo(f"{row.period}  {row.supplier:<16}{row.amount:>14}  ({row.receipts} receipts)")

"""``erpkit orders ...``: the orders module's command line."""

from __future__ import annotations

import os
import sys

import click

from erpkit.cli import refuse_bad_input
from erpkit.db import db
from erpkit_orders.importer import ImportReport, import_orders, plan_import, text_of_path


@click.group("orders")
def orders_group() -> None:
    """Orders: import from files."""


@orders_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--actor", default=lambda: os.environ.get("USER", "cli"), show_default="$USER",
              help="Recorded as the creator of the orders.")
@refuse_bad_input
def import_command(file: str, actor: str) -> None:
    """Import orders from the CSV FILE: one order per order_number, one row per line.

    Columns: order_number, customer_email or customer_id, sku, quantity, and optionally
    channel, currency, unit_price, discount_percent, requested_date, note. An order with
    a bad row is refused whole and its rows are listed; the other orders are created.
    Importing the same file again creates nothing new. Exits 1 when a row was refused.
    """
    opener = text_of_path(file)
    plan = plan_import(opener)
    with click.progressbar(length=plan.rows, label=f"importing {plan.rows} rows",
                           file=sys.stderr) as bar:
        report = import_orders(db.session, opener, actor=actor, plan=plan, progress=bar.update)
    _print_report(report)
    if report.errors:
        sys.exit(1)


def _print_report(report: ImportReport) -> None:
    for error in report.errors:
        order = f" (order {error.order_number})" if error.order_number else ""
        click.secho(f"row {error.row}{order}: {error.field}: {error.message}", fg="red",
                    err=True)
    click.echo(f"{report.created} orders created, {report.already_imported} already imported, "
               f"{report.refused} refused")

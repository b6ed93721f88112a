"""``erpkit orders|products|customers import ...``: the orders module's command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from erpkit.cli import refuse_bad_input
from erpkit.db import db
from erpkit_orders.catalogue_import import (
    CUSTOMERS,
    PRODUCTS,
    CatalogueReport,
    RecordKind,
    import_records,
)
from erpkit_orders.csv_reading import CsvOptions
from erpkit_orders.import_report import Change, RowError
from erpkit_orders.importer import ImportReport, binary_of_path, import_orders, plan_import


def file_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every import takes: how to read the file."""
    for option in reversed((
        click.option("--encoding", default="utf-8-sig", show_default=True,
                     help="The file's encoding: utf-8, utf-8-sig (Excel's UTF-8), cp1252 "
                          "(Windows), latin-1..."),
        click.option("--decimal-comma", is_flag=True,
                     help="Numbers are written 1.234,50 (continental spreadsheets)."),
        click.option("--date-format", default=None,
                     help="strptime format of the dates, e.g. %d/%m/%Y (default ISO 8601)."),
        click.option("--delimiter", default=None,
                     help="The cell separator (default: ; when the header has semicolons "
                          "and no commas, else ,)."),
    )):
        command = option(command)
    return command


def _options(encoding: str, decimal_comma: bool, date_format: str | None,
             delimiter: str | None) -> CsvOptions:
    return CsvOptions(encoding=encoding, decimal_comma=decimal_comma, date_format=date_format,
                      delimiter=delimiter)


def _refused_printer(label: str) -> Callable[[RowError], None]:
    """Prints each refused row as soon as it is refused (``row 6 (order C-3): ...``)."""

    def show(error: RowError) -> None:
        key = f" ({label} {error.key})" if error.key else ""
        click.secho(f"\nrow {error.row}{key}: {error.field}: {error.message}", fg="red",
                    err=True)

    return show


@click.group("orders")
def orders_group() -> None:
    """Orders: import from files."""


@orders_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--actor", default=lambda: os.environ.get("USER", "cli"), show_default="$USER",
              help="Recorded as the creator of the orders.")
@file_options
@refuse_bad_input
def import_command(file: str, actor: str, **reading: Any) -> None:
    """Import orders from the CSV FILE: one order per order_number, one row per line.

    Columns: order_number, customer_code or customer_email or customer_id, sku, quantity;
    optionally channel, currency, unit_price, discount_percent, requested_date (or
    required_date), note; for past orders order_date, shipped_date, delivered_date,
    status (confirmed, shipped, delivered, closed, cancelled), ship_to_name,
    ship_to_address, ship_to_city, ship_to_postal_code, ship_to_region, ship_to_country,
    carrier, shipping_charge, salesperson. An order with a bad row is refused whole and
    its rows are printed as they are found; the other orders are imported. Importing the
    same file again creates nothing new. Exits 1 when a row was refused or differed.
    """
    options = _options(**reading)
    opener = binary_of_path(file)
    plan = plan_import(opener, options)
    with click.progressbar(length=plan.rows, label=f"importing {plan.rows} rows",
                           file=sys.stderr) as bar:
        report = import_orders(db.session, opener, options, actor=actor, plan=plan,
                               progress=bar.update, on_refused=_refused_printer("order"))
    _print_orders_report(report)
    if report.errors:
        sys.exit(1)


def _print_orders_report(report: ImportReport) -> None:
    click.echo(f"{report.created} orders created, {report.already_imported} already imported, "
               f"{report.differs} differing from an earlier import, {report.refused} refused")


def _records_command(kind: RecordKind) -> click.Command:
    @click.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
    @click.option("--quiet", is_flag=True, help="Do not print each change.")
    @file_options
    @refuse_bad_input
    def command(file: str, quiet: bool, **reading: Any) -> None:
        def told(change: Change) -> None:
            if change.outcome == "updated" and not quiet:
                click.echo(change.describe())

        with open(file, "rb") as binary:
            report = import_records(db.session, kind, binary, _options(**reading),
                                    on_refused=_refused_printer(kind.key), on_change=told)
        _print_records_report(report)
        if report.errors:
            sys.exit(1)

    command.help = (f"Import {kind.name} from the CSV FILE: new ones are created, known "
                    f"ones (by {kind.key}) updated with the filled-in cells; prints what "
                    "changed and each refused row. Exits 1 when a row was refused.\n\n"
                    f"Columns: {kind.key}, {', '.join(kind.fields)}.")
    return command


def _print_records_report(report: CatalogueReport) -> None:
    click.echo(f"{report.created} {report.kind} created, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.refused} refused")


@click.group("products")
def products_group() -> None:
    """The product catalogue: import from files."""


@click.group("customers")
def customers_group() -> None:
    """Customers: import from files."""


products_group.add_command(_records_command(PRODUCTS))
customers_group.add_command(_records_command(CUSTOMERS))


@click.group("imports")
def imports_group() -> None:
    """Import runs (files kept with their progress): show and resume them."""


@imports_group.command("resume")
@click.argument("run_id", type=int)
@refuse_bad_input
def resume_command(run_id: int) -> None:
    """Go on with the import run RUN_ID from its last batch (after a crash or a kill)."""
    from erpkit_orders.import_runs import run_body, run_import

    try:
        run = run_import(db.session, run_id, on_refused=_refused_printer("key"))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    body = run_body(run)
    click.echo(f"import {run.id} ({run.kind}, {run.filename or 'upload'}): {run.status}, "
               f"{run.rows_done} rows done, {run.rows_refused} refused")
    if run.status == "failed":
        for problem in body["report"].get("problems", []):
            click.secho(f"{problem['field']}: {problem['message']}", fg="red", err=True)
        sys.exit(1)


@imports_group.command("show")
@click.argument("run_id", type=int)
def show_command(run_id: int) -> None:
    """Print the status, progress and counts of the import run RUN_ID."""
    from erpkit_orders.import_runs import run_body
    from erpkit_orders.models import ImportRun

    run = db.session.get(ImportRun, run_id)
    if run is None:
        raise click.ClickException(f"no import run {run_id}")
    body = run_body(run)
    counts = {k: v for k, v in body["report"].items() if isinstance(v, int)}
    click.echo(f"import {run.id} ({run.kind}, {run.filename or 'upload'}): {run.status}, "
               f"{run.rows_done} rows done, {run.rows_refused} refused; "
               + ", ".join(f"{k} {v}" for k, v in counts.items()))

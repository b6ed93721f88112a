"""``erpkit report NAME``, ``erpkit report list``, ``rebuild`` and ``check``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from erpkit.cli import refuse_bad_input
from erpkit.db import db
from erpkit.plugins import current_registry
from erpkit_reporting.available import reports_of
from erpkit_reporting.export import FORMATS, render, write_xlsx
from erpkit_reporting.periods import PERIODS
from erpkit_reporting.rebuild import check as check_rollups
from erpkit_reporting.rebuild import rebuild as rebuild_rollups
from erpkit_reporting.rebuild import tidy_after_rebuild
from erpkit_reporting.service import run_report

COMMANDS = ("list", "rebuild", "check")


class ReportGroup(click.Group):
    """``erpkit report NAME [options]`` runs a report; list, rebuild and check are commands."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        return _run_command(cmd_name)


def _run_command(name: str) -> click.Command:
    @click.command(name, context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True})
    @click.option("--from", "date_from", help="First day, YYYY-MM-DD (by order date).")
    @click.option("--to", "date_to", help="Last day, included.")
    @click.option("--by", type=click.Choice(PERIODS), help="Period (default month).")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="table")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write to this file (required for xlsx).")
    @click.option("--param", "-p", multiple=True, metavar="NAME=VALUE",
                  help="A filter or option: -p channel=web -p limit=20.")
    @refuse_bad_input
    def command(date_from: str | None, date_to: str | None, by: str | None, fmt: str,
                output: Path | None, param: tuple[str, ...]) -> None:
        raw: dict[str, Any] = {"from": date_from, "to": date_to, "by": by}
        for item in param:
            key, sep, value = item.partition("=")
            if not sep:
                raise click.BadParameter(f"{item!r}: write NAME=VALUE", param_hint="--param")
            raw[key.strip()] = value
        _report, params, result = run_report(current_registry(), db.session, name, raw)
        db.session.rollback()
        if fmt == "xlsx":
            if output is None:
                raise click.BadParameter("xlsx needs --output FILE", param_hint="--output")
            write_xlsx(name, params, result, str(output))
            click.echo(f"wrote {output}")
            return
        text = render(name, params, result, fmt)
        if output:
            output.write_text(text, encoding="utf-8")
            click.echo(f"wrote {output}")
        else:
            click.echo(text)

    command.help = f"Run the report {name}."
    return command


@click.group("report", cls=ReportGroup, invoke_without_command=False)
def report() -> None:
    """Reports: erpkit report NAME [--from] [--to] [--by] [--format] [--output]."""


@report.command("list")
def list_reports() -> None:
    """The reports and what each says."""
    for name, item in reports_of(current_registry()).items():
        summary = (item.definition.strip().splitlines() or [""])[0]
        click.echo(f"{name:28} {summary}")


@report.command("rebuild")
def rebuild() -> None:
    """Recompute every rollup from the orders (after a history import), one transaction;
    then refresh the database's statistics of them."""
    started = time.perf_counter()
    result = rebuild_rollups(db.session)
    db.session.commit()
    tidy_after_rebuild(db.engine)
    click.echo(f"rebuilt from {result.orders} orders in {time.perf_counter() - started:.1f} s: "
               + ", ".join(f"{table} {rows}" for table, rows in result.rows.items()))


@report.command("check")
def check() -> None:
    """Recompute the rollups from the orders and compare; exit 1 on any drift."""
    drifts = check_rollups(db.session)
    db.session.rollback()
    if not drifts:
        click.echo("the rollups match the orders")
        return
    for drift in drifts[:200]:
        click.secho(f"drift: {drift}", fg="red", err=True)
    click.secho(f"{len(drifts)} figure(s) drifted; run 'erpkit report rebuild'", fg="red",
                err=True)
    sys.exit(1)

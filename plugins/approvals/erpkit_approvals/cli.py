"""``erpkit sla``: find what is late and act on it (``sweep``, for cron), or list it."""

from __future__ import annotations

import json
import sys

import click

from erpkit.db import db
from erpkit.durations import format_duration
from erpkit_approvals.sla import overdue, sweep


@click.group("sla")
def sla_group() -> None:
    """Time limits of approval steps and of every order's department steps."""


@sla_group.command("sweep")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def sla_sweep(as_json: bool) -> None:
    """Apply the breach action of everything overdue, once (safe to run concurrently
    and repeatedly: run it from cron every few minutes)."""
    report = sweep(db.session)
    if as_json:
        click.echo(json.dumps({
            "handled": [late.as_dict() for late in report.handled],
            "taken_by_another_sweep": len(report.taken_by_another),
            "no_longer_late": len(report.no_longer_late),
            "failed": [{**late.as_dict(), "error": error} for late, error in report.failed],
        }))
    else:
        for late in report.handled:
            click.echo(f"{late.order_number}: {late.step} {format_duration(late.overdue_by)} "
                       f"late -> {late.action}"
                       + (f" to {late.escalate_to}" if late.escalate_to else ""))
        for late, error in report.failed:
            click.secho(f"{late.order_number}: {late.step}: failed: {error}", fg="red", err=True)
        click.echo(f"{len(report.handled)} handled, {len(report.taken_by_another)} taken by "
                   f"another sweep, {len(report.failed)} failed")
    if report.failed:
        sys.exit(1)


@sla_group.command("overdue")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def sla_overdue(as_json: bool) -> None:
    """List what is late now, by how much, and who holds it."""
    found = overdue(db.session)
    if as_json:
        click.echo(json.dumps([late.as_dict() for late in found]))
        return
    for late in found:
        click.echo(f"{late.order_number:<20}{late.step:<40}{format_duration(late.overdue_by):>10}"
                   f"  held by {', '.join(late.held_by)}")
    if not found:
        click.echo("nothing is late")

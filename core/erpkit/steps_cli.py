"""``erpkit sla``: act on what is late now (``sweep``, the same code as the workers' periodic
job, once) or list it (``overdue``)."""

from __future__ import annotations

import json
import sys

import click

from erpkit.db import db, utcnow
from erpkit.durations import format_duration
from erpkit.plugins import current_registry
from erpkit.steps import overdue, sweep


@click.group("sla")
def sla_group() -> None:
    """Time limits of every step the plugins declare (approval steps, department steps...)."""


@sla_group.command("sweep")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def sla_sweep(as_json: bool) -> None:
    """Apply the breach action of everything overdue, once. The workers do this every
    core.step_sweep_seconds; this runs the same sweep now (safe next to them)."""
    now = utcnow()
    report = sweep(db.session, current_registry(), now)
    if as_json:
        click.echo(json.dumps(report.as_dict(now)))
    else:
        for late in report.handled:
            click.echo(f"{late.reference}: {late.step} {format_duration(late.overdue_by(now))} "
                       f"late -> {late.action}"
                       + (f" to {late.escalate_to}" if late.escalate_to else ""))
        for late, error in report.failed:
            click.secho(f"{late.reference}: {late.step}: failed: {error}", fg="red", err=True)
        click.echo(f"{len(report.handled)} handled, {len(report.taken_by_another)} taken by "
                   f"another sweep, {len(report.failed)} failed")
    if report.failed:
        sys.exit(1)


@sla_group.command("overdue")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def sla_overdue(as_json: bool) -> None:
    """List what is late now, by how much, and who holds it."""
    now = utcnow()
    found = overdue(db.session, current_registry(), now)
    if as_json:
        click.echo(json.dumps([late.as_dict(now) for late in found]))
        return
    for late in found:
        click.echo(f"{late.reference:<20}{late.step:<40}"
                   f"{format_duration(late.overdue_by(now)):>10}  held by "
                   f"{', '.join(late.held_by) or '-'}")
    if not found:
        click.echo("nothing is late")

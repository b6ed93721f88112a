"""``erpkit crm ...``: recompute the RFM segments."""

from __future__ import annotations

import json
from datetime import datetime

import click

from erpkit.cli import refuse_bad_input
from erpkit.db import db
from erpkit.transitions import run_atomic
from erpkit_crm import segments


@click.group("crm")
def crm() -> None:
    """Customers: RFM segments."""


@crm.group("segments")
def segments_group() -> None:
    """RFM scores and named segments."""


@segments_group.command("recompute")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Score as of this day (default: today, UTC).")
@click.option("--json", "as_json", is_flag=True)
@refuse_bad_input
def recompute(as_of: datetime | None, as_json: bool) -> None:
    """Score every customer again (recency, frequency, monetary) and name its segment."""
    result = run_atomic(db.session, lambda: segments.recompute(
        db.session, as_of.date() if as_of else None))
    if as_json:
        click.echo(json.dumps({"customers": result.customers,
                               "as_of": result.as_of.isoformat(),
                               "seconds": round(result.seconds, 3)}))
        return
    click.echo(f"scored {result.customers} customers as of {result.as_of.isoformat()} "
               f"in {result.seconds:.1f} s")

"""``erpkit logistics ...``: tracking events from files, trip planning, figures."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from erpkit import TransitionRefused
from erpkit.cli import refuse_bad_input
from erpkit.db import db
from erpkit.problems import ValidationFailed
from erpkit_logistics import figures as figures_module
from erpkit_logistics import trips
from erpkit_logistics.models import Carrier
from erpkit_logistics.tracking import CarrierEvent, ingest
from erpkit_logistics.webhooks import load_event, parse_events


@click.group("logistics")
def logistics() -> None:
    """Shipments: tracking events, trips, figures."""


@logistics.group("events")
def events() -> None:
    """Carriers' tracking events."""


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [(number, row) for number, row in enumerate(csv.DictReader(handle), start=2)]


def read_events(path: Path) -> list[CarrierEvent]:
    """Events from a CSV file (columns id, tracking, code, occurred_at, place, eta,
    message) or a JSON file (a webhook body: ``{"events": [...]}``)."""
    if path.suffix.lower() == ".json":
        return parse_events(json.loads(path.read_text(encoding="utf-8")))
    found: list[CarrierEvent] = []
    problems = []
    for line, row in _rows(path):
        try:
            found.append(load_event(row, line))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    return found


@events.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--carrier", "carrier_code", required=True, help="The carrier's code.")
@refuse_bad_input
def import_events(file: Path, carrier_code: str) -> None:
    """Store a carrier's tracking events from FILE; events already stored are skipped."""
    carrier = db.session.scalar(sa.select(Carrier).where(Carrier.code == carrier_code))
    if carrier is None:
        raise ValidationFailed.single("carrier", f"no carrier {carrier_code!r}",
                                      code="unknown_carrier")
    report = ingest(db.session, carrier, read_events(file), actor=f"import:{file.name}")
    click.echo(f"{len(report.stored)} stored, {len(report.duplicates)} already known, "
               f"{len(report.unmatched)} without a known tracking number, "
               f"{len(report.unmapped)} with an unmapped status code")


@logistics.command("plan")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
def plan(day: Any) -> None:
    """Plan the waiting own-fleet shipments into trips for DAY."""
    try:
        report = trips.plan_day(db.session, day.date(), actor="cli")
    except TransitionRefused as exc:
        raise click.ClickException(exc.message) from exc
    for trip in report.trips:
        click.echo(f"trip {trip.id}: {trip.vehicle.code}, {len(trip.stops)} stop(s), "
                   f"{trip.route_km if trip.route_km is not None else '?'} km")
    for shipment_id, why in report.unplanned:
        click.secho(f"shipment {shipment_id} not planned: {why}", fg="yellow", err=True)


@logistics.command("figures")
@click.option("--json", "as_json", is_flag=True)
def figures(as_json: bool) -> None:
    """Order-to-ship and ship-to-delivery days and exceptions, last 30 days."""
    rows = [row.as_dict() for row in figures_module.figures(db.session)]
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    for row in rows:
        click.echo(f"{row['carrier']:<12} {row['zone']:<12} {row['shipments']:>5} shipped "
                   f"{row['handed_over']:>5} delivered {row['delivered']:>5} exceptions "
                   f"{row['exceptions']:>4} order->ship {row['order_to_ship_days']} d "
                   f"ship->delivery {row['ship_to_delivery_days']} d")

"""Run a report by name from text parameters: the one path of the CLI, API, console and
scheduled mailings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from erpkit import ValidationFailed
from erpkit.parameters import get_value
from erpkit_reporting import catalogue
from erpkit_reporting.available import abc_defaults, filters_of, reports_of
from erpkit_reporting.catalogue import Params, Report, Result
from erpkit_reporting.periods import periods_count


def find(registry: Any, name: str) -> Report:
    reports = reports_of(registry)
    if name not in reports:
        raise ValidationFailed.single(
            "report", f"no report {name!r}; the reports are {', '.join(reports)}",
            code="not_found")
    return reports[name]


def run_report(registry: Any, session: Session, name: str,
               raw: Mapping[str, Any]) -> tuple[Report, Params, Result]:
    """Check ``raw`` (text parameters) and run the report ``name``."""
    report = find(registry, name)
    filters = filters_of(registry)
    given = {k: v for k, v in raw.items() if v not in (None, "")}
    if name == "products-abc":
        given = abc_defaults(registry, session, given)
    params = catalogue.parse_params(report, given, filters)
    _bounded(session, params)
    return report, params, catalogue.run(session, report, params, filters)


def _bounded(session: Session, params: Params) -> None:
    """Refuse more periods (days, weeks...) than ``reporting.max_periods``: a report's
    work grows with them (forecasts compute every one)."""
    longest = int(get_value(session, "reporting.max_periods"))
    count = periods_count(params.date_from, params.date_to, params.by)
    if count > longest:
        raise ValidationFailed.single(
            "to", f"{params.date_from} to {params.date_to} by {params.by} is {count} "
            f"periods; at most {longest} per report (parameter reporting.max_periods). "
            "Fix: a shorter range or a longer period (by=month...)", code="too_long")

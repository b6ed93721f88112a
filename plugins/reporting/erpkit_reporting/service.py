"""Run a report by name from text parameters: the one path of the CLI, API, console and
scheduled mailings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from erpkit import ValidationFailed
from erpkit_reporting import catalogue
from erpkit_reporting.available import abc_defaults, filters_of, reports_of
from erpkit_reporting.catalogue import Params, Report, Result


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
    return report, params, catalogue.run(session, report, params, filters)

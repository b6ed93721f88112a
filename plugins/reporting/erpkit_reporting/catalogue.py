"""The report catalogue: what a report is, its parameters, and how one is run.

Every report is a :class:`Report`: a name, a definition for people, the columns it returns
and a function ``run(session, params) -> Result``. The built-in reports are in
:mod:`erpkit_reporting.sales` and :mod:`erpkit_reporting.operations`; other plugins add
theirs with the hook ``erpkit_reporting_reports`` (:mod:`erpkit_reporting.hookspecs`).
The CLI, the API, the console and scheduled mailings all run reports through :func:`run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from erpkit import Problem, ValidationFailed
from erpkit.db import utcnow
from erpkit.schemas import FIRST_DAY, LAST_DAY
from erpkit_reporting.periods import PERIODS

#: Column kinds: how values are typed and shown (money and units are Decimal).
KINDS = ("text", "date", "int", "money", "units", "share", "days", "hours", "decimal")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "int"


@dataclass(frozen=True)
class Filter:
    """A filter a report accepts: ``name`` (channel, country...) and what it means.

    ``customers`` turns a value into the customer ids it selects, for filters other plugins
    provide (crm's customer group); built-in filters match rollup columns."""

    name: str
    description: str
    customers: Callable[[Session, str], set[int]] | None = None


@dataclass
class Params:
    """A report's parameters, checked: the range (both days included), the period, the
    filters (``{"channel": ["web", "phone"]}``) and report-specific options."""

    date_from: date
    date_to: date
    by: str = "month"
    filters: dict[str, list[str]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    #: The customers selected by filters other plugins provide; None: no such filter.
    customer_ids: set[int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.date_from.isoformat(), "to": self.date_to.isoformat(),
                "by": self.by, **{k: ",".join(v) for k, v in self.filters.items()},
                **{k: str(v) for k, v in self.options.items() if v is not None}}


@dataclass
class Result:
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    columns: list[Column]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Option:
    """A report-specific parameter: ``parse`` turns the text given into its value."""

    name: str
    description: str
    parse: Callable[[str], Any]
    default: Any = None


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    definition: str
    run: Callable[[Session, Params], Result]
    filters: tuple[str, ...] = ("channel", "country", "region")
    options: tuple[Option, ...] = ()
    uses_period: bool = True
    plugin: str = "reporting"


BUILTIN_FILTERS = {
    "channel": Filter("channel", "Channels the orders came through (web, phone, ...)"),
    "country": Filter("country", "Ship-to country (ISO code), else the customer's"),
    "region": Filter("region", "Ship-to region, else the customer's"),
    "category": Filter("category", "Product categories (line level)"),
}


def default_range(today: date | None = None) -> tuple[date, date]:
    """The last twelve months: from the first of the month a year back to today."""
    today = today or utcnow().date()
    start = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    return start, today


def _date(name: str, raw: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.single(name, f"{raw!r} is not a date; use YYYY-MM-DD") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        # Further out, "the same period before" or "the next period" is no date at all.
        raise ValidationFailed.single(name, f"must be a day from {FIRST_DAY} to {LAST_DAY}",
                                      code="out_of_range")
    return day


def parse_params(report: Report, raw: Mapping[str, Any],
                 filters: Mapping[str, Filter]) -> Params:
    """Check text parameters (query string, CLI) against ``report``; refuse with the
    field and the reason."""
    problems: list[Problem] = []
    start, end = default_range()
    known = {"from", "to", "by", *report.filters, *(o.name for o in report.options)}
    for name in raw:
        if name not in known:
            problems.append(Problem(field=name, code="unknown", message=(
                f"{report.name} takes no parameter {name!r}; it takes "
                f"{', '.join(sorted(known))}")))
    try:
        date_from = _date("from", raw["from"]) if raw.get("from") else start
        date_to = _date("to", raw["to"]) if raw.get("to") else end
    except ValidationFailed as exc:
        raise ValidationFailed([*problems, *exc.problems]) from None
    if date_from > date_to:
        problems.append(Problem(field="from", code="invalid",
                                message=f"from {date_from} is after to {date_to}"))
    by = raw.get("by") or "month"
    if by not in PERIODS:
        problems.append(Problem(field="by", code="invalid",
                                message=f"{by!r} is not a period; use {', '.join(PERIODS)}"))
    chosen = {}
    for name in report.filters:
        if raw.get(name):
            if name not in filters:
                problems.append(Problem(field=name, code="unavailable", message=(
                    f"no installed plugin provides the filter {name!r}")))
            chosen[name] = [v.strip() for v in str(raw[name]).split(",") if v.strip()]
    options = {}
    for option in report.options:
        value = raw.get(option.name)
        if value in (None, ""):
            options[option.name] = option.default
            continue
        try:
            options[option.name] = option.parse(str(value))
        except (ValueError, ArithmeticError) as exc:
            problems.append(Problem(field=option.name, code="invalid",
                                    message=f"{value!r}: {exc or 'not valid'}"))
    if problems:
        raise ValidationFailed(problems)
    return Params(date_from, date_to, by, chosen, options)


def run(session: Session, report: Report, params: Params,
        filters: Mapping[str, Filter]) -> Result:
    """Run ``report``: resolve plugin-provided filters to customers, then compute."""
    for name, values in params.filters.items():
        chooser = filters[name].customers if name in filters else None
        if chooser is not None:
            chosen = set().union(*(chooser(session, value) for value in values))
            params.customer_ids = chosen if params.customer_ids is None \
                else params.customer_ids & chosen
    return report.run(session, params)


def describe(report: Report, filters: Mapping[str, Filter]) -> dict[str, Any]:
    """The report and its parameters, for ``GET /api/reports``."""
    parameters: list[dict[str, Any]] = [
        {"name": "from", "description": "First day (YYYY-MM-DD), by order date"},
        {"name": "to", "description": "Last day, included"},
    ]
    if report.uses_period:
        parameters.append({"name": "by", "description": f"Period: {', '.join(PERIODS)}",
                           "default": "month"})
    parameters += [{"name": name, "description": filters[name].description,
                    "filter": True} for name in report.filters if name in filters]
    parameters += [{"name": o.name, "description": o.description,
                    "default": None if o.default is None else str(o.default)}
                   for o in report.options]
    return {"name": report.name, "title": report.title, "definition": report.definition,
            "plugin": report.plugin, "parameters": parameters}


def collect(reports: Iterable[Iterable[Report] | None]) -> dict[str, Report]:
    found: dict[str, Report] = {}
    for group in reports:
        for report in group or ():
            found[report.name] = report
    return found

"""The console's Reports section and the dashboard.

Both run reports through :func:`erpkit_reporting.service.run_report`, the path of the
API and the CLI. Charts are drawn by Chart.js, vendored in ``static/vendor`` (no CDN);
every chart has its table beside it, for reading without the chart and for export.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request
from flask_admin import BaseView, expose

from erpkit import ValidationFailed
from erpkit.admin.contrib import AdminView
from erpkit.db import db, utcnow
from erpkit.plugins import current_registry
from erpkit_reporting.available import filters_of, reports_of
from erpkit_reporting.catalogue import describe
from erpkit_reporting.dashboard import dashboard_figures
from erpkit_reporting.export import plain, render, write_xlsx
from erpkit_reporting.service import run_report

HERE = Path(__file__).parent
CATEGORY = "Reports"


def assets_blueprint() -> Blueprint:
    """Templates and static files (Chart.js) of the reporting pages."""
    return Blueprint("reporting_assets", __name__, template_folder=str(HERE / "templates"),
                     static_folder=str(HERE / "static"),
                     static_url_path="/reporting/static")


class ReportsView(BaseView):
    """The list of reports; each one with a form of its parameters, its table and exports."""

    @expose("/")
    def index(self) -> Any:
        registry = current_registry()
        filters = filters_of(registry)
        return self.render("reporting/reports.html",
                           reports=[describe(r, filters) for r in reports_of(registry).values()])

    @expose("/<report_name>")
    def show(self, report_name: str) -> Any:
        name = report_name
        registry = current_registry()
        reports = reports_of(registry)
        if name not in reports:
            return self.render("reporting/reports.html", reports=[], missing=name), 404
        raw = {k: v for k, v in request.args.items() if k != "format" and v}
        fmt = request.args.get("format")
        try:
            _report, params, result = run_report(registry, db.session, name, raw)
        except ValidationFailed as exc:
            db.session.rollback()
            return self.render("reporting/report.html", report=describe(reports[name],
                               filters_of(registry)), problems=exc.problems, result=None,
                               raw=raw), 422
        db.session.rollback()
        if fmt == "csv":
            return Response(render(name, params, result, "csv"), mimetype="text/csv",
                            headers={"Content-Disposition": f"attachment; filename={name}.csv"})
        if fmt == "xlsx":
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
                write_xlsx(name, params, result, handle.name)
                data = Path(handle.name).read_bytes()
            return Response(data, mimetype="application/vnd.openxmlformats-officedocument."
                            "spreadsheetml.sheet",
                            headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
        return self.render("reporting/report.html",
                           report=describe(reports[name], filters_of(registry)),
                           result=result, params=params, raw=raw, plain=plain, problems=[])


class DashboardView(BaseView):
    """Key figures of the period against the previous one, and the charts."""

    @expose("/")
    def index(self) -> Any:
        raw_to = request.args.get("to")
        today = date.fromisoformat(raw_to) if raw_to else utcnow().date()
        figures = dashboard_figures(current_registry(), db.session, today)
        db.session.rollback()
        return self.render("reporting/dashboard.html", figures=figures, plain=plain)


def admin_views() -> list[AdminView]:
    return [
        AdminView(DashboardView, "Dashboard", "dashboard", "reporting.view", category=CATEGORY,
                  kwargs={"url": "/admin/reporting/dashboard"}),
        AdminView(ReportsView, "Reports", "reports", "reporting.view", category=CATEGORY,
                  kwargs={"url": "/admin/reporting/reports"}),
    ]

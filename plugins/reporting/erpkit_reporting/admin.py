"""The console's Reports section and the dashboard.

Both run reports through :func:`erpkit_reporting.service.run_report`, the path of the
API and the CLI. Charts are drawn by Chart.js, vendored in ``static/vendor`` (no CDN);
every chart has its table beside it, for reading without the chart and for export.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_admin import BaseView, expose

from erpkit import ValidationFailed
from erpkit.admin.contrib import AdminView
from erpkit.db import db, utcnow
from erpkit.plugins import current_registry
from erpkit_reporting.available import filters_of, reports_of
from erpkit_reporting.catalogue import describe
from erpkit_reporting.dashboard import dashboard_figures
from erpkit_reporting.export import XLSX_MIMETYPE, plain, render, xlsx_bytes
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
            return Response(xlsx_bytes(name, params, result), mimetype=XLSX_MIMETYPE,
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


class SchedulesView(BaseView):
    """Scheduled reports: the schedules, a form to add one, and the log of sendings."""

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        from urllib.parse import parse_qsl

        from erpkit.auth import current_user
        from erpkit.models import audit
        from erpkit_reporting import schedules

        problems: list[Any] = []
        form: dict[str, Any] = {}
        if request.method == "POST":
            form = request.form.to_dict()
            data = {"report": form.get("report"), "frequency": form.get("frequency"),
                    "params": dict(parse_qsl(form.get("params", ""))),
                    "formats": [f for f in ("xlsx", "csv") if form.get(f)],
                    "recipients": [r for r in form.get("recipients", "").split(",")]}
            user = current_user()
            actor = user.login if user is not None else None
            try:
                checked = schedules.check_schedule(current_registry(), db.session, data)
                saved = schedules.save_schedule(db.session, checked, actor=actor)
            except ValidationFailed as exc:
                db.session.rollback()
                problems = exc.problems
            else:
                audit(db.session, actor=actor, entity="reporting.schedule",
                      entity_id=str(saved.id), action="create",
                      after=schedules.describe_schedule(saved))
                db.session.commit()
                flash(f"Scheduled {saved.report} ({saved.frequency}).", "success")
                return redirect(url_for(".index"))
        return self._page(problems, form), 422 if problems else 200

    def _page(self, problems: list[Any], form: dict[str, Any]) -> Any:
        from erpkit_reporting import schedules
        from erpkit_reporting.models import ReportSchedule

        registry = current_registry()
        found = list(db.session.scalars(sa.select(ReportSchedule).order_by(ReportSchedule.id)))
        log = schedules.sendings(db.session)
        latest: dict[int, dict[str, Any]] = {}
        for sending in log:
            latest.setdefault(sending["schedule_id"], sending)
        page = self.render("reporting/schedules.html", schedules=found, sendings=log,
                           latest=latest, problems=problems, form=form,
                           frequencies=schedules.FREQUENCIES,
                           reports=[describe(r, filters_of(registry))
                                    for r in reports_of(registry).values()])
        db.session.rollback()
        return page

    @expose("/<int:schedule_id>/send", methods=("POST",))
    def send(self, schedule_id: int) -> Any:
        from erpkit_reporting import schedules
        from erpkit_reporting.models import ReportSchedule

        schedule = db.session.get(ReportSchedule, schedule_id) if schedule_id < 2**31 else None
        if schedule is None:
            return redirect(url_for(".index"))
        first, last = schedules.last_complete_period(schedule.frequency, utcnow().date())
        schedules.ask_sending(db.session, schedule, first, last, manual=True)
        db.session.commit()
        flash(f"Sending {schedule.report} for {first} to {last}.", "success")
        return redirect(url_for(".index"))

    @expose("/<int:schedule_id>/delete", methods=("POST",))
    def delete(self, schedule_id: int) -> Any:
        from erpkit.auth import current_user
        from erpkit.models import audit
        from erpkit_reporting import schedules
        from erpkit_reporting.models import ReportSchedule

        schedule = db.session.get(ReportSchedule, schedule_id) if schedule_id < 2**31 else None
        if schedule is not None:
            user = current_user()
            audit(db.session, actor=user.login if user else None, entity="reporting.schedule",
                  entity_id=str(schedule.id), action="delete",
                  before=schedules.describe_schedule(schedule))
            db.session.delete(schedule)
            db.session.commit()
            flash("Schedule deleted.", "success")
        return redirect(url_for(".index"))


def admin_views() -> list[AdminView]:
    return [
        AdminView(DashboardView, "Dashboard", "dashboard", "reporting.view", category=CATEGORY,
                  kwargs={"url": "/admin/reporting/dashboard"}),
        AdminView(ReportsView, "Reports", "reports", "reporting.view", category=CATEGORY,
                  kwargs={"url": "/admin/reporting/reports"}),
        AdminView(SchedulesView, "Scheduled reports", "schedules", "reporting.schedule",
                  category=CATEGORY, kwargs={"url": "/admin/reporting/schedules"}),
    ]

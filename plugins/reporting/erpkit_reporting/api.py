"""``GET /api/reports`` (the catalogue, with each report's parameters) and
``GET /api/reports/NAME?from=&to=&by=&...`` -> ``{"report", "params", "rows", "totals"}``.

Money and quantities are decimal strings. Needs ``reporting.view``. Bad parameters get
422 with the field and the reason, an unknown report 404.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, jsonify, request

from erpkit import ValidationFailed
from erpkit.api import Blueprint
from erpkit.auth import permission_required
from erpkit.db import db, utcnow
from erpkit.plugins import current_registry
from erpkit_reporting.available import filters_of, reports_of
from erpkit_reporting.catalogue import describe
from erpkit_reporting.export import document
from erpkit_reporting.service import run_report

VIEW = "reporting.view"
SCHEDULE = "reporting.schedule"


def reports_blueprint() -> Blueprint:
    blueprint = Blueprint("reporting_api", __name__, url_prefix="/api/reports", permission=VIEW,
                          description="Reports: sales, customers, fulfilment, quality, "
                          "forecasts.")

    @blueprint.route("")
    @permission_required(VIEW)
    def list_reports() -> Any:
        """The reports, with their definitions and parameters."""
        registry = current_registry()
        filters = filters_of(registry)
        return jsonify({"reports": [describe(r, filters) for r in reports_of(registry).values()]})

    _schedule_routes(blueprint)

    @blueprint.route("/<name>")
    @permission_required(VIEW)
    def get_report(name: str) -> Any:
        """One report's rows and totals for the parameters given."""
        registry = current_registry()
        if name not in reports_of(registry):
            abort(404, description=f"no report {name!r}")
        try:
            _report, params, result = run_report(registry, db.session, name,
                                                 request.args.to_dict())
        except ValidationFailed:
            db.session.rollback()
            raise
        finally:
            db.session.rollback()  # reports only read: end the read transaction
        return jsonify(document(name, params, result))

    return blueprint


def _schedule_routes(blueprint: Blueprint) -> None:
    """``/api/reports/schedules``: admins schedule reports (``reporting.schedule``)."""
    from erpkit.auth import current_user
    from erpkit.models import audit
    from erpkit_reporting import schedules
    from erpkit_reporting.models import ReportSchedule

    def _found(schedule_id: int) -> ReportSchedule:
        schedule = db.session.get(ReportSchedule, schedule_id) \
            if 0 < schedule_id < 2**31 else None
        if schedule is None:
            abort(404, description=f"no report schedule {schedule_id}")
        return schedule

    def _actor() -> str | None:
        user = current_user()
        return user.login if user is not None else None

    def _save(schedule: ReportSchedule | None) -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValidationFailed.single("body", "send a JSON object")
        before = schedules.describe_schedule(schedule) if schedule is not None else None
        try:
            checked = schedules.check_schedule(current_registry(), db.session, body)
            saved = schedules.save_schedule(db.session, checked, actor=_actor(),
                                            schedule=schedule)
        except ValidationFailed:
            db.session.rollback()
            raise
        after = schedules.describe_schedule(saved)
        audit(db.session, actor=_actor(), entity="reporting.schedule",
              entity_id=str(saved.id), action="create" if before is None else "update",
              before=before, after=after)
        db.session.commit()
        return jsonify(after), 201 if before is None else 200

    @blueprint.route("/schedules", methods=["GET"])
    @permission_required(SCHEDULE)
    def list_schedules() -> Any:
        """Every report schedule."""
        found = db.session.scalars(sa.select(ReportSchedule).order_by(ReportSchedule.id))
        out = [schedules.describe_schedule(s) for s in found]
        db.session.rollback()
        return jsonify({"schedules": out})

    @blueprint.route("/schedules", methods=["POST"])
    @permission_required(SCHEDULE)
    def create_schedule() -> Any:
        """Schedule a report: ``{"report", "frequency": daily|weekly|monthly, "params",
        "formats": ["xlsx", "csv"], "recipients": ["login", "role:NAME"]}``."""
        return _save(None)

    @blueprint.route("/schedules/<int:schedule_id>", methods=["GET"])
    @permission_required(SCHEDULE)
    def get_schedule(schedule_id: int) -> Any:
        """One schedule and the log of its sendings."""
        schedule = _found(schedule_id)
        out = {**schedules.describe_schedule(schedule),
               "sendings": schedules.sendings(db.session, schedule.id)}
        db.session.rollback()
        return jsonify(out)

    @blueprint.route("/schedules/<int:schedule_id>", methods=["PUT"])
    @permission_required(SCHEDULE)
    def update_schedule(schedule_id: int) -> Any:
        """Change a schedule (the whole of it, as when creating)."""
        return _save(_found(schedule_id))

    @blueprint.route("/schedules/<int:schedule_id>", methods=["DELETE"])
    @permission_required(SCHEDULE)
    def delete_schedule(schedule_id: int) -> Any:
        """Delete a schedule and its log."""
        schedule = _found(schedule_id)
        audit(db.session, actor=_actor(), entity="reporting.schedule",
              entity_id=str(schedule.id), action="delete",
              before=schedules.describe_schedule(schedule))
        db.session.delete(schedule)
        db.session.commit()
        return "", 204

    @blueprint.route("/schedules/<int:schedule_id>/send", methods=["POST"])
    @permission_required(SCHEDULE)
    def send_now(schedule_id: int) -> Any:
        """Mail the schedule's last complete period now (logged as a sending by hand)."""
        schedule = _found(schedule_id)
        first, last = schedules.last_complete_period(schedule.frequency, utcnow().date())
        sending = schedules.ask_sending(db.session, schedule, first, last, manual=True)
        db.session.commit()
        return jsonify({"sending_id": sending.id if sending else None,
                        "from": first.isoformat(), "to": last.isoformat()}), 202

    @blueprint.route("/sendings", methods=["GET"])
    @permission_required(SCHEDULE)
    def list_sendings() -> Any:
        """The log of every sending, the newest first (at most 100)."""
        out = schedules.sendings(db.session)
        db.session.rollback()
        return jsonify({"sendings": out})

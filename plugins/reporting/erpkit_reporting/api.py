"""``GET /api/reports`` (the catalogue, with each report's parameters) and
``GET /api/reports/NAME?from=&to=&by=&...`` -> ``{"report", "params", "rows", "totals"}``.

Money and quantities are decimal strings. Needs ``reporting.view``. Bad parameters get
422 with the field and the reason, an unknown report 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request

from erpkit import ValidationFailed
from erpkit.api import Blueprint
from erpkit.auth import permission_required
from erpkit.db import db
from erpkit.plugins import current_registry
from erpkit_reporting.available import filters_of, reports_of
from erpkit_reporting.catalogue import describe
from erpkit_reporting.export import document
from erpkit_reporting.service import run_report

VIEW = "reporting.view"


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

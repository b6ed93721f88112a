"""JSON errors: every failure a client can cause is a 4xx with a body naming the cause.

No HTML error pages and no tracebacks reach a client; a bug is a 500 with a JSON body
and the traceback in the server log.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from erpkit.problems import ValidationFailed, problems_from_messages
from erpkit.query_limits import is_query_timeout, timeout_response
from erpkit.transitions import TransitionFailed, TransitionRefused

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    """The admin console renders its own HTML errors; everything else speaks JSON."""
    return not request.path.startswith("/admin") or request.is_json


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ValidationFailed)
    def _validation(exc: ValidationFailed) -> Any:
        # The same keys and code as a 422 from webargs (schema errors), so a client reads
        # every refused input one way, whoever found the problem.
        return jsonify({"message": "the input was refused", "code": "unprocessable_entity",
                        "errors": [p.as_dict() for p in exc.problems]}), 422

    @app.errorhandler(TransitionRefused)
    def _refused(exc: TransitionRefused) -> Any:
        return jsonify(exc.as_dict()), exc.status_code

    @app.errorhandler(TransitionFailed)
    def _failed(exc: TransitionFailed) -> Any:
        if is_query_timeout(exc):
            return timeout_response()
        log.error("transition failed", exc_info=exc.error)
        return jsonify(exc.as_dict()), 500

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not _wants_json():
            return exc
        code = exc.name.lower().replace(" ", "_")
        # flask-smorest's abort(404, message=...) puts the message in exc.data
        data = getattr(exc, "data", None) or {}
        body: dict[str, Any] = {"message": data.get("message") or exc.description, "code": code}
        if exc.code == 404:
            body["field"] = None  # the one "not found" shape (erpkit.NotFound)
        # webargs / flask-smorest attach field errors to the exception
        messages = data.get("messages")
        if messages:
            body["errors"] = [p.as_dict() for p in problems_from_messages(messages)]
        return jsonify(body), exc.code or 500

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return _http(exc)
        if is_query_timeout(exc):  # a runaway query stopped by the time limit: 503
            return timeout_response()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"message": "internal error; the server log has the details",
                        "code": "internal_error"}), 500

"""Errors: every failure a client can cause is a 4xx with a body naming the cause.

Programs get JSON; a person in the console (``/admin``, not asking for JSON) gets an
HTML page in the console's style that says the same thing (the missing permission of a
403, the refusal of a 409). No tracebacks reach a client; a bug is a 500 and the
traceback goes to the server log.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from erpkit.problems import ValidationFailed, problems_from_messages
from erpkit.query_limits import is_query_timeout, timeout_response
from erpkit.transitions import TransitionFailed, TransitionRefused

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    """The admin console renders its own HTML errors; everything else speaks JSON."""
    return not request.path.startswith("/admin") or request.is_json


#: The page title of each status a person may meet in the console.
TITLES = {400: "Bad request", 401: "Please log in", 403: "Not allowed", 404: "Not found",
          405: "Not allowed here", 409: "Refused", 413: "Too large", 422: "Not accepted",
          429: "Too many attempts", 500: "Something went wrong"}


def error_page(status: int, message: str, field: str | None = None) -> Any:
    """An HTML error page in the console's style, for a person (not a program)."""
    title = TITLES.get(status, "Error")
    return render_template("erpkit/error.html", status=status, title=title,
                           message=message, field=field), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ValidationFailed)
    def _validation(exc: ValidationFailed) -> Any:
        if not _wants_json():
            return error_page(422, "; ".join(f"{p.field}: {p.message}" for p in exc.problems))
        # The same keys and code as a 422 from webargs (schema errors), so a client reads
        # every refused input one way, whoever found the problem.
        return jsonify({"message": "the input was refused", "code": "unprocessable_entity",
                        "errors": [p.as_dict() for p in exc.problems]}), 422

    @app.errorhandler(TransitionRefused)
    def _refused(exc: TransitionRefused) -> Any:
        if not _wants_json():
            return error_page(exc.status_code, exc.message, exc.field)
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
            return error_page(exc.code or 500, str(exc.description or exc.name))
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
        if not _wants_json():
            return error_page(500, "the server log has the details; please tell your "
                                   "administrator what you were doing")
        return jsonify({"message": "internal error; the server log has the details",
                        "code": "internal_error"}), 500

"""Logging in and out of the console, and CSRF protection for every form.

CSRF: one global Flask-WTF :class:`~flask_wtf.csrf.CSRFProtect` checks every POST, PUT,
PATCH and DELETE (console forms send the ``csrf_token`` field, scripts the
``X-CSRFToken`` header), so the console's forms keep Flask-Admin's plain ``BaseForm``
(never ``SecureForm`` as well: the two tokens clash). Only requests that authenticate
with ``Authorization: Bearer <token>`` skip the check: they ignore the login cookie, and
a browser never adds that header to a cross-site request. A JSON write authenticated by
the login cookie therefore needs the ``X-CSRFToken`` header like any form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from erpkit.auth import authenticate, current_user, login_user, logout_user, sent_bearer_token
from erpkit.db import db
from erpkit.login_throttle import audit_login, client_address, login_throttle

TEMPLATES = Path(__file__).parent / "admin" / "templates"
#: Where a login lands when it was not sent somewhere else.
CONSOLE_HOME = "/admin/"


def init_web_auth(app: Flask) -> None:
    """Register the login and logout pages and CSRF protection on ``app``."""
    app.config.setdefault("WTF_CSRF_ENABLED", True)
    # The token is bound to the login session (cleared at login and logout), so it needs
    # no clock: a console form left open over lunch still saves.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # We decide per request below which requests are checked.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf = CSRFProtect(app)

    @app.before_request
    def _forget_the_last_request() -> None:
        # Each request normally gets an app context, and so a ``g``, of its own; but a
        # request made while an app context is already open (a test holding one, a
        # script) shares that ``g``. The user and CSRF token cached there belong to the
        # previous request.
        g.pop("erpkit_user", None)
        g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)

    @app.before_request
    def _check_csrf() -> None:
        if current_app.config["WTF_CSRF_ENABLED"] and not sent_bearer_token():
            csrf.protect(apply_exemptions=True)

    @app.errorhandler(CSRFError)
    def _csrf_refused(exc: CSRFError) -> Any:
        if is_console_request():
            return render_template("erpkit/csrf_refused.html", reason=exc.description), 400
        return jsonify(
            {
                "message": f"CSRF check failed: {exc.description} Send the "
                "X-CSRFToken header, or authenticate with a bearer token.",
                "code": "csrf_failed",
            }
        ), 400

    app.register_blueprint(blueprint())


def is_console_request() -> bool:
    """Whether the request comes from a console page (HTML), not from an API client."""
    return request.path.startswith(("/admin", "/login", "/logout")) and not request.is_json


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the console home (no open redirect)."""
    # A control character (CR/LF would split the Location header) or a backslash
    # (browsers read "/\\evil.example" as "//evil.example") is never part of our paths.
    if not target or any(ch < " " or ch in "\x7f\\" for ch in target):
        return CONSOLE_HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return CONSOLE_HOME
    return target


def blueprint() -> Blueprint:
    bp = Blueprint("auth", __name__, template_folder=str(TEMPLATES))

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        next_url = safe_next(request.values.get("next"))
        if request.method == "GET":
            if current_user() is not None:
                return redirect(next_url)
            return render_template("erpkit/login.html", next=next_url, login="", error=None)
        login_name = request.form.get("login", "").strip()
        throttle = login_throttle()
        locked = throttle.refused(login_name, client_address())
        if locked is not None:
            audit_login(login_name, "throttled", locked=locked)
            return render_template(
                "erpkit/login.html", next=next_url, login=login_name,
                error="Too many wrong passwords: logins are paused for a while. "
                "An admin can lift the pause."), 429
        user = authenticate(db.session, login_name, request.form.get("password", ""))
        if user is None:
            throttle.count_failure(login_name, client_address())
            audit_login(login_name, "failed")
            return render_template(
                "erpkit/login.html",
                next=next_url,
                login=login_name,
                error="Wrong login or password, or the account is deactivated.",
            ), 401
        login_user(user)
        return redirect(next_url)

    @bp.route("/logout", methods=["GET", "POST"])
    def logout() -> Any:
        # A GET only asks: logging out is a change, so it takes a POST with a CSRF token.
        if request.method == "GET":
            return render_template("erpkit/logout.html", user=current_user())
        logout_user()
        db.session.commit()  # the raised session version ends the user's other sessions
        return redirect(url_for("auth.login", logged_out=1))

    return bp

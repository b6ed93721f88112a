"""The admin console: Flask-Admin, built inside the app factory, one per app.

Every view, the core's own included, comes from an ``erpkit_admin_views`` hook as an
:class:`~erpkit.admin.contrib.AdminView` description. The core builds it with
:func:`protect` in front, so each request checks, on the server, that the user may use the
console (``admin.console``) and holds the view's own permission. Endpoints are named
``<plugin>_<endpoint>`` (``core_users``, ``orders_orders``) so two plugins never collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView as SQLAModelView
from flask_admin.theme import Bootstrap4Theme

from erpkit.admin import cells
from erpkit.admin.contrib import AdminView
from erpkit.admin.formatting import console_locale, install_filters
from erpkit.admin.home import home_panels, panels_of_this_page, show_on_this_page
from erpkit.admin.theme import add_theme_route
from erpkit.core_plugin import CONSOLE_PERMISSION
from erpkit.db import db
from erpkit.plugins import Registry, setup_items
from erpkit.web_security import csp_nonce_generator

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


class ProtectedView:
    """Mixin the core puts in front of every console view: one permission check for all.

    Nobody logged in: a redirect to the login page (401 for JSON requests). Logged in
    without the permission: 403, with a page naming the missing permission.
    """

    required_permission: str = CONSOLE_PERMISSION

    def is_accessible(self) -> bool:
        from erpkit.auth import current_user

        user = current_user()
        return (
            user is not None and user.can(CONSOLE_PERMISSION) and user.can(self.required_permission)
        )

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        from erpkit.auth import current_user

        wants_json = request.is_json or request.accept_mimetypes.best == "application/json"
        if current_user() is None:
            if wants_json:
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if wants_json:
            abort(403)
        missing = (
            self.required_permission
            if current_user().can(CONSOLE_PERMISSION)  # type: ignore[union-attr]
            else CONSOLE_PERMISSION
        )
        return self.render("erpkit/forbidden.html", permission=missing), 403  # type: ignore[attr-defined]


def protect(view_class: type, permission: str) -> type:
    """A subclass of ``view_class`` that checks ``permission`` on every request.

    A model view also gets the console's cell formatters (:mod:`erpkit.admin.cells`)
    unless it brings its own: no Python repr, raw JSON or microseconds on any page.
    """
    attributes: dict[str, Any] = {"required_permission": permission}
    if issubclass(view_class, SQLAModelView):
        model_view: Any = view_class
        if model_view.column_type_formatters is SQLAModelView.column_type_formatters:
            attributes["column_type_formatters"] = cells.TYPE_FORMATTERS
        if model_view.column_type_formatters_detail in (
                None, SQLAModelView.column_type_formatters_detail):
            attributes["column_type_formatters_detail"] = cells.TYPE_FORMATTERS_DETAIL
    return type(f"Protected{view_class.__name__}", (ProtectedView, view_class), attributes)


def build_view(plugin: str, spec: AdminView) -> Any:
    """Instantiate a contributed view behind the permission check, endpoint prefixed."""
    cls = protect(spec.view_class, spec.permission)
    options = {
        "name": spec.name,
        "endpoint": f"{plugin}_{spec.endpoint}",
        "category": spec.category,
        **spec.kwargs,
    }
    if spec.model is not None:
        return cls(spec.model, db, **options)
    return cls(**options)


class ConsoleHome(ProtectedView, AdminIndexView):
    """The console's first page: who is logged in and which pages they may open."""

    @expose("/")
    def index(self) -> Any:
        if request.args.get("pages"):
            return self.render("erpkit/home.html")
        from erpkit.auth import current_user
        from erpkit.plugins import current_registry

        user, registry = current_user(), current_registry()
        show_on_this_page(home_panels(db.session, user, registry))
        # a plugin may give some users its own first page (the dashboard), shown here
        # under the panels rather than redirected to, so /admin/ stays everyone's home
        home = registry.pm.hook.erpkit_console_home(user=user)
        if home:
            return current_app.view_functions[home]()
        return self.render("erpkit/home.html")

    def pages(self) -> list[ConsolePage]:
        """The console pages the current user may open, in menu order."""
        views = self.admin._views if self.admin is not None else []
        return [
            ConsolePage(str(v.name), v.category, url_for(f"{v.endpoint}.{v._default_view}"))
            for v in views
            if v is not self and v.is_accessible() and v.is_visible()
        ]


@dataclass(frozen=True)
class ConsolePage:
    name: str
    category: str | None
    url: str


def _console_globals(registry: Registry) -> dict[str, Any]:
    """Template helpers for the console's layout; lazy, so pages that don't show them
    cost no query."""
    from erpkit.auth import current_user

    def company_name() -> str:
        try:
            return str(registry.parameters.get(db.session, "core.company_name"))
        except Exception:  # the console must render even when the database is not ready
            return "erpkit"

    def lang() -> str:
        # babel's en_GB is HTML's en-GB
        return console_locale(registry).replace("_", "-")

    return {"console_user": current_user, "console_company_name": company_name,
            "console_lang": lang, "console_home_panels": panels_of_this_page}


def _time_console_pages(app: Flask) -> None:
    """Say how long the server took on each console page (``Server-Timing: app;dur=12.3``,
    in milliseconds): browsers' developer tools show it, and the page walk test checks
    it against the console's budget."""

    @app.before_request
    def start_clock() -> None:
        if request.path.startswith("/admin"):
            g.erpkit_console_started = perf_counter()

    @app.after_request
    def stop_clock(response: Response) -> Response:
        started = g.pop("erpkit_console_started", None)
        if started is not None:
            response.headers["Server-Timing"] = (
                f"app;dur={(perf_counter() - started) * 1000:.1f}")
        return response


def init_admin(app: Flask, registry: Registry) -> Admin:
    """Build the console on ``app``: the core's views and every plugin's, all protected."""
    _time_console_pages(app)
    console = Blueprint("erpkit_console", __name__, template_folder=str(TEMPLATES),
                        static_folder=str(STATIC), static_url_path="/console-assets/static")
    add_theme_route(console)
    app.register_blueprint(console)
    app.context_processor(lambda: _console_globals(registry))
    install_filters(app, registry)
    app.jinja_env.filters["describe"] = cells.describe  # a stored value for people
    theme = Bootstrap4Theme(swatch="flatly", fluid=True, base_template="erpkit/console_base.html")
    admin = Admin(
        app,
        name="erpkit",
        theme=theme,
        url="/admin",
        index_view=ConsoleHome(name="Home", url="/admin"),
        # Flask-Admin's inline <script> blocks carry this nonce; the CSP names it.
        csp_nonce_generator=csp_nonce_generator,
    )
    with app.app_context():
        for plugin, spec in setup_items(registry, "erpkit_admin_views"):
            admin.add_view(build_view(plugin, spec))
    app.extensions["erpkit.admin"] = admin
    return admin

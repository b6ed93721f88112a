"""The admin console: Flask-Admin, built inside the app factory, one per app."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from erpkit.admin.contrib import AdminView
from erpkit.db import db
from erpkit.plugins import Registry, setup_items


class ProtectedView:
    """Mixin the core puts in front of every console view: one permission check for all."""

    required_permission: str = "admin.console"

    def is_accessible(self) -> bool:
        from erpkit.auth import current_user

        user = current_user()
        return user is not None and user.can(self.required_permission)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        from erpkit.auth import current_user

        abort(403 if current_user() is not None else 401)


def protect(view_class: type, permission: str) -> type:
    """A subclass of ``view_class`` that checks ``permission`` on every request."""
    return type(
        f"Protected{view_class.__name__}",
        (ProtectedView, view_class),
        {"required_permission": permission},
    )


def build_view(plugin: str, spec: AdminView) -> Any:
    cls = protect(spec.view_class, spec.permission)
    options = {"name": spec.name, "endpoint": f"{plugin}_{spec.endpoint}",
               "category": spec.category, **spec.kwargs}
    if spec.model is not None:
        return cls(spec.model, db, **options)
    return cls(**options)


def init_admin(app: Flask, registry: Registry) -> Admin:
    admin = Admin(app, name="erpkit", theme=Bootstrap4Theme(swatch="flatly", fluid=True),
                  url="/admin")
    with app.app_context():
        for plugin, spec in setup_items(registry, "erpkit_admin_views"):
            admin.add_view(build_view(plugin, spec))
    app.extensions["erpkit.admin"] = admin
    return admin

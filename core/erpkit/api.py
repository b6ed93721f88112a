"""JSON API blueprints that are guarded by default, and the OpenAPI names of schemas.

A plugin's JSON endpoints live on an :class:`erpkit.api.Blueprint`. It names the
permission its routes need, and every route checks it before reading any input. A route
is open to everyone only when it says so (``@blp.public``, or ``permission=None`` given
explicitly for the whole blueprint): leaving a decorator out never makes a route public::

    from erpkit.api import Blueprint
    from erpkit.auth import permission_required

    blp = Blueprint("loyalty", __name__, url_prefix="/api/loyalty", permission="loyalty.view")

    @blp.get("/points")                     # needs loyalty.view
    def points(): ...

    @blp.post("/points")
    @permission_required("loyalty.grant")   # needs loyalty.grant instead
    def grant(): ...

    @blp.get("/terms")
    @blp.public                             # anyone
    def terms(): ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import flask_smorest
from apispec.ext.marshmallow import resolver as default_schema_name
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask.views import MethodView

from erpkit.auth import GUARD_ATTRIBUTE, Access, Requirement, guarded

F = TypeVar("F", bound=Callable[..., Any])

#: ``permission=LOGGED_IN``: any logged-in user, whatever their roles.
LOGGED_IN = Access.LOGGED_IN

_REQUIRED: Any = object()


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint whose every route requires ``permission``.

    ``permission`` is required: a permission name (``"loyalty.view"``), :data:`LOGGED_IN`,
    or ``None`` for a blueprint of public routes. A route decorated with
    :func:`erpkit.auth.permission_required` needs that permission instead; one decorated
    with :meth:`public` needs nothing. Bearer tokens and the console's login session are
    both accepted, as everywhere in erpkit.
    """

    def __init__(self, name: str, import_name: str, *args: Any,
                 permission: str | Access | None = _REQUIRED, **kwargs: Any) -> None:
        if permission is _REQUIRED:
            raise TypeError(
                f"blueprint {name!r}: say which permission its routes need. Fix: "
                "Blueprint(..., permission='<plugin>.view'), permission=erpkit.api.LOGGED_IN, "
                "or permission=None for public routes."
            )
        super().__init__(name, import_name, *args, **kwargs)
        self.permission: Requirement = Access.PUBLIC if permission is None else permission

    def add_url_rule(self, rule: str, endpoint: str | None = None,
                     view_func: Any = None, provide_automatic_options: bool | None = None,
                     **options: Any) -> None:
        if view_func is not None and not hasattr(view_func, GUARD_ATTRIBUTE):
            view_func = self._guard(view_func)
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)

    def _guard(self, view: Any) -> Any:
        guard = guarded(self.permission)
        if isinstance(view, type) and issubclass(view, MethodView):
            # as_view applies ``decorators`` in order: the guard, last, runs first.
            return type(view.__name__, (view,), {
                "decorators": [*view.decorators, guard], GUARD_ATTRIBUTE: self.permission})
        return guard(view)

    @staticmethod
    def public(view: F) -> F:
        """Open this route to everyone, logged in or not."""
        return guarded(Access.PUBLIC)(view)


def plugin_schema_names(packages: Mapping[str, str]) -> Callable[[Any], str]:
    """An apispec schema name resolver prefixing a plugin's schemas with its name.

    ``packages`` maps a plugin's top-level package to its name (``erpkit_orders`` ->
    ``orders``), so ``erpkit_orders.schemas.OrderSchema`` is named ``orders.Order`` and two
    plugins' ``OrderSchema`` classes never share a name. The core's own schemas keep their
    plain names (``Setting``): they have no dot, so no plugin's name can clash with them.
    """

    def name_of(schema: Any) -> str:
        resolved = resolve_schema_cls(schema)
        schema_cls = resolved[0] if isinstance(resolved, list) else resolved
        plugin = packages.get(schema_cls.__module__.split(".")[0])
        name = default_schema_name(schema)
        return f"{plugin}.{name}" if plugin else name

    return name_of

"""JSON endpoints for parameters: ``GET /api/settings``, ``PUT /api/settings/<name>``.

Both need the permission ``core.parameters``, like the console's parameters page. A
write goes through :meth:`ParameterStore.set`, so it is validated by the parameter's type
and audited exactly like a change made in the console or with ``erpkit settings set``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from erpkit.api import Blueprint
from erpkit.auth import require_user
from erpkit.db import db
from erpkit.parameters import Parameter, ParameterStore
from erpkit.plugins import current_registry

PERMISSION = "core.parameters"


class SettingSchema(Schema):
    name = fields.String(metadata={"description": "Parameter name, prefixed by its plugin."})
    type = fields.String(metadata={"description": "The value's type (string, decimal...)."})
    value = fields.Raw(allow_none=True, metadata={"description": "The current value."})
    default = fields.Raw(allow_none=True, metadata={"description": "The declared default."})
    is_default = fields.Boolean(metadata={"description": "True when no value was set."})
    description = fields.String()
    owner = fields.String(metadata={"description": "The plugin that declares it."})


class SettingUpdateSchema(Schema):
    value = fields.Raw(
        required=True,
        allow_none=True,
        metadata={"description": "The new value, as JSON or as text."},
    )


def _as_dict(store: ParameterStore, parameter: Parameter) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "type": parameter.type_name,
        "value": parameter.to_json(store.get(db.session, parameter.name)),
        "default": parameter.to_json(parameter.default),
        "is_default": store.is_default(db.session, parameter.name),
        "description": parameter.description,
        "owner": parameter.owner,
    }


def settings_blueprint() -> Blueprint:
    """A new blueprint each call, so two apps in one process never share one."""
    blp = Blueprint(
        "settings",
        __name__,
        url_prefix="/api/settings",
        description="Parameters: settings admins change without a deploy.",
        permission=PERMISSION,
    )

    @blp.get("/")
    @blp.response(200, SettingSchema(many=True))
    def list_settings() -> Any:
        """Every declared parameter with its type, value, default and description."""
        store = current_registry().parameters
        return [_as_dict(store, p) for _, p in sorted(store.declared.items())]

    @blp.put("/<name>")
    @blp.arguments(SettingUpdateSchema)
    @blp.response(200, SettingSchema)
    def update_setting(body: dict[str, Any], name: str) -> Any:
        """Set a parameter; refused with 422 naming the reason when the value is invalid."""
        store = current_registry().parameters
        store.set(db.session, name, body["value"], actor=require_user().login)
        db.session.commit()
        return _as_dict(store, store.parameter(name))

    return blp

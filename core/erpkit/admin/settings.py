"""Console views of the installation itself: parameters, installed plugins, the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import marshmallow
import sqlalchemy as sa
from flask import current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from markupsafe import Markup

from erpkit.admin.audited import current_actor
from erpkit.admin.cells import describe
from erpkit.admin.contrib import ModelView
from erpkit.db import db
from erpkit.models import AuditEntry
from erpkit.parameters import Parameter
from erpkit.plugins import Registry, current_registry
from erpkit.problems import ValidationFailed

# Field types whose values are structures, edited as JSON text.
_STRUCTURED = (
    marshmallow.fields.List,
    marshmallow.fields.Dict,
    marshmallow.fields.Nested,
    marshmallow.fields.Tuple,
    marshmallow.fields.Raw,
)


@dataclass(frozen=True)
class ParameterInput:
    """How the edit form asks for a parameter's value: ``text``, ``select`` or ``json``."""

    kind: str
    choices: tuple[str, ...] = ()

    @classmethod
    def of(cls, parameter: Parameter) -> ParameterInput:
        field = parameter.type
        if isinstance(field, marshmallow.fields.Boolean):
            return cls("select", ("true", "false"))
        for validator in field.validators:
            if isinstance(validator, marshmallow.validate.OneOf):
                return cls("select", tuple(str(c) for c in validator.choices))
        if isinstance(field, _STRUCTURED):
            return cls("json")
        return cls("text")

    def show(self, parameter: Parameter, value: Any) -> str:
        """The value as the form shows it (and as a user would type it)."""
        if self.kind == "json":
            return json.dumps(parameter.to_json(value), ensure_ascii=False)
        if isinstance(value, bool):
            return "true" if value else "false"
        return parameter.describe(value)

    def read(self, parameter: Parameter, text: str) -> Any:
        """The submitted text as the raw input :meth:`Parameter.parse` expects."""
        if self.kind != "json":
            return text.strip()
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed.single(parameter.name, f"not valid JSON: {exc.msg}") from None


@dataclass(frozen=True)
class ParameterRow:
    parameter: Parameter
    value: str
    default: str
    is_default: bool
    input: ParameterInput


def parameter_rows(registry: Registry) -> list[ParameterRow]:
    store = registry.parameters
    rows = []
    for name, parameter in sorted(store.declared.items()):
        how = ParameterInput.of(parameter)
        rows.append(
            ParameterRow(
                parameter,
                how.show(parameter, store.get(db.session, name)),
                how.show(parameter, parameter.default),
                store.is_default(db.session, name),
                how,
            )
        )
    return rows


class ParametersView(BaseView):
    """Every declared parameter with type, value, default and description; typed edit
    forms that validate through the parameter's own type; every change audited."""

    @expose("/")
    def index(self) -> Any:
        return self.render("erpkit/parameters.html", rows=parameter_rows(current_registry()))

    # Not "<name>": Flask-Admin passes view arguments next to its own "name" argument.
    @expose("/<parameter>/", methods=("GET", "POST"))
    def edit(self, parameter: str) -> Any:
        return self._edit(parameter)

    @expose("/<parameter>/reset", methods=("POST",))
    def reset(self, parameter: str) -> Any:
        return self._reset(parameter)

    def _edit(self, name: str) -> Any:
        store = current_registry().parameters
        parameter = store.declared.get(name)
        if parameter is None:
            flash(f"No installed plugin declares a parameter {name!r}.", "error")
            return redirect(url_for(".index"))
        row = next(r for r in parameter_rows(current_registry()) if r.parameter.name == name)
        if request.method == "GET":
            return self.render("erpkit/parameter_edit.html", row=row, submitted=None, error=None)
        submitted = request.form.get("value", "")
        try:
            value = store.set(
                db.session, name, row.input.read(parameter, submitted), actor=current_actor()
            )
        except ValidationFailed as exc:
            db.session.rollback()
            reason = "; ".join(p.message for p in exc.problems)
            return self.render(
                "erpkit/parameter_edit.html", row=row, submitted=submitted, error=reason
            ), 422
        db.session.commit()
        flash(f"Saved {name} = {row.input.show(parameter, value)}", "success")
        return redirect(url_for(".index"))

    def _reset(self, name: str) -> Any:
        store = current_registry().parameters
        if name not in store.declared:
            flash(f"No installed plugin declares a parameter {name!r}.", "error")
            return redirect(url_for(".index"))
        store.reset(db.session, name, actor=current_actor())
        db.session.commit()
        flash(f"Reset {name} to its default.", "success")
        return redirect(url_for(".index"))


@dataclass(frozen=True)
class PluginRow:
    name: str
    version: str
    distribution: str | None
    requires: tuple[str, ...]
    enabled: bool
    migrations: str
    current: str | None
    head: str | None
    description: str


def plugin_rows(registry: Registry) -> list[PluginRow]:
    """The core and every installed plugin with its migration state."""
    from erpkit import __version__
    from erpkit.migrate import status

    # The request's own connection: on SQLite a second one would wait for the write
    # lock this request's transaction already holds.
    try:
        states = {
            s.branch: s
            for s in status(registry, db.session.connection(), current_app.config["DATABASE_URL"])
        }
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        states = {}

    def migration_state(branch: str, has_tables: bool) -> str:
        state = states.get(branch)
        if not has_tables:
            return "no tables"
        if state is None:
            return "unknown"
        if state.up_to_date:
            return "up to date"
        return "not installed" if state.current is None else "pending"

    core = states.get("core")
    rows = [
        PluginRow(
            "core",
            __version__,
            "erpkit",
            (),
            True,
            migration_state("core", True),
            core.current if core else None,
            core.head if core else None,
            "The framework: users, roles, parameters, audit, migrations.",
        )
    ]
    for name, plugin in sorted(registry.installed.items()):
        state = states.get(name)
        has_tables = plugin.obj is None or bool(plugin.meta.migrations)
        rows.append(
            PluginRow(
                name,
                plugin.version,
                plugin.distribution,
                plugin.meta.requires,
                plugin.enabled,
                migration_state(name, has_tables),
                state.current if state else None,
                state.head if state else None,
                plugin.meta.description,
            )
        )
    return rows


class PluginsView(BaseView):
    """Installed plugins: version, requirements, enabled, migration state. Read only."""

    @expose("/")
    def index(self) -> Any:
        return self.render("erpkit/plugins.html", rows=plugin_rows(current_registry()))


def _audit_cell(view: Any, context: Any, model: Any, name: str) -> Markup:
    """A before or after picture as ``name: value`` lines, not JSON text."""
    return Markup('<div class="audit-{}">{}</div>').format(name, describe(getattr(model, name)))


class AuditView(ModelView):
    """The audit log: who changed which configuration when, before and after. Read only,
    from the console and for everyone: no create, edit or delete."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_view_details = True
    column_display_actions = True
    # No COUNT(*) over a log that only grows: "next page" links instead of page numbers.
    simple_list_pager = True
    page_size = 50
    column_list = ("at", "actor", "entity", "entity_id", "action", "before", "after")
    column_labels = {"at": "When", "actor": "Who", "entity_id": "Which"}
    column_default_sort = ("at", True)
    column_searchable_list = ("entity", "entity_id", "actor")
    column_filters = ("entity", "actor", "action", "at")
    column_formatters = {"before": _audit_cell, "after": _audit_cell}
    column_formatters_detail = {"before": _audit_cell, "after": _audit_cell}

    def _order_by(
        self, query: Any, joins: Any, sort_joins: Any, sort_field: Any, sort_desc: bool
    ) -> Any:
        # Entries written in the same instant keep the order they were written in.
        query, joins = super()._order_by(query, joins, sort_joins, sort_field, sort_desc)
        return query.order_by(AuditEntry.id.desc() if sort_desc else AuditEntry.id), joins

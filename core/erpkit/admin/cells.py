"""How a stored value reads in a console table or details page: never a Python repr,
never raw JSON.

Flask-Admin shows a JSON column as its ``json.dumps`` text and a related object as its
``repr`` (``<RuleMatch object at 0x...>``) unless told otherwise. The core gives every
model view these type formatters (see :func:`erpkit.admin.protect`): a mapping becomes
a list of ``name: value`` pairs, a list a bulleted list, a model its ``__str__`` or its
named columns, a time reads to the minute, a Decimal without exponent or trailing zeros.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask_admin.contrib.sqla import ModelView as SQLAModelView
from flask_admin.model import typefmt
from markupsafe import Markup, escape
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.orm.collections import InstrumentedList

#: Columns that say nothing to a person when describing a related row.
_PLUMBING = {"id"}


def describe(value: Any) -> Markup:
    """``value`` as HTML a person reads."""
    if value is None:
        return Markup("")
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    if isinstance(value, Decimal):
        return Markup(escape(f"{value.normalize():f}"))
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return Markup(escape(moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")))
    if isinstance(value, date):
        return Markup(escape(value.isoformat()))
    if isinstance(value, dict):
        if not value:
            return Markup('<span class="text-muted">none</span>')
        items = Markup("").join(
            Markup('<li><span class="text-muted">{}:</span> {}</li>').format(
                str(key).replace("_", " "), describe(item))
            for key, item in value.items())
        return Markup('<ul class="list-unstyled mb-0 cell-fields">{}</ul>').format(items)
    if isinstance(value, list | tuple | set):
        if not value:
            return Markup('<span class="text-muted">none</span>')
        if all(isinstance(item, str | int | float | Decimal) for item in value):
            return Markup(escape(", ".join(str(describe(item)) for item in value)))
        return Markup('<ul class="mb-0 pl-3 cell-list">{}</ul>').format(
            Markup("").join(Markup("<li>{}</li>").format(describe(item)) for item in value))
    if isinstance(value, str | int | float):
        return Markup(escape(str(value)))
    return _describe_object(value)


def _describe_object(value: Any) -> Markup:
    """A model row: its own ``__str__`` when it has one, else its named columns."""
    if type(value).__str__ is not object.__str__:
        return Markup(escape(str(value)))
    try:
        mapper = sa_inspect(type(value))
    except NoInspectionAvailable:
        return Markup(escape(type(value).__name__))
    fields = {}
    for column in mapper.columns:
        if column.key in _PLUMBING or column.foreign_keys:
            continue
        fields[column.key] = getattr(value, column.key)
    return describe(fields)


def _cell(view: Any, value: Any, name: str | None = None) -> Markup:
    return describe(value)


def _list_cell(view: Any, value: Any, name: str | None = None) -> Markup:
    return describe(list(value))


def _object_cell(view: Any, value: Any, name: str | None = None) -> Any:
    # Checked last (dicts keep their order): what no other formatter took.
    if isinstance(value, str | int | float | bool):
        return value
    return describe(value)


#: The type formatters every console model view gets.
TYPE_FORMATTERS: dict[Any, Any] = {
    **SQLAModelView.column_type_formatters,
    dict: _cell,
    list: _cell,
    Decimal: _cell,
    datetime: _cell,
    date: _cell,
    InstrumentedList: _list_cell,
    object: _object_cell,
}
TYPE_FORMATTERS_DETAIL: dict[Any, Any] = {**typefmt.DETAIL_FORMATTERS, **TYPE_FORMATTERS}

"""What a plugin hands the core to put a view in the admin console."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_admin import form as admin_form
from flask_admin.contrib import sqla
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model import filters as model_filters
from flask_admin.model.filters import BaseDateTimeBetweenFilter, BaseDateTimeFilter
from flask_admin.model.form import converts


@dataclass(frozen=True)
class AdminView:
    """A view a plugin contributes (hook ``erpkit_admin_views``).

    ``view_class`` is a Flask-Admin view class (``ModelView`` subclass or ``BaseView``);
    ``model`` its model for a ``ModelView``; ``permission`` the permission a user needs
    to open it (``orders.view``). The core builds the view, names its endpoint
    ``<plugin>_<endpoint>`` and checks the permission on every request.
    """

    view_class: type
    name: str
    endpoint: str
    permission: str
    model: type | None = None
    category: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


# --- A ModelView base that understands erpkit's column types -----------------------------
#
# erpkit stores times as UTCDateTime (timezone-aware UTC). Flask-Admin knows neither the
# type (no filters, no form field) nor aware datetimes (its pickers give naive ones, which
# UTCDateTime refuses). Plugin views that list or edit models with times should derive
# from ModelView below instead of Flask-Admin's.


def _as_utc(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_utc(v) for v in value]
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _utc_filter(filter_class: Any) -> type:
    def clean(self: Any, value: str) -> Any:
        return _as_utc(filter_class.clean(self, value))

    return type(f"UTC{filter_class.__name__}", (filter_class,), {"clean": clean})


class UTCFilterConverter(sqla_filters.FilterConverter):
    """Flask-Admin's filters, plus UTCDateTime columns (times typed in UTC)."""

    utc_datetime_filters = tuple(
        _utc_filter(f) if issubclass(f, BaseDateTimeFilter | BaseDateTimeBetweenFilter) else f
        for f in sqla_filters.FilterConverter.datetime_filters
    )

    @model_filters.convert("utcdatetime")
    def conv_utc_datetime(self, column: Any, name: str, **kwargs: Any) -> list[Any]:
        return [f(column, name, **kwargs) for f in self.utc_datetime_filters]


class UTCDateTimeField(admin_form.DateTimeField):
    """A date-time input read as UTC."""

    data: Any

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.data = _as_utc(self.data)


class UTCModelConverter(AdminModelConverter):
    """Flask-Admin's form fields, plus UTCDateTime columns."""

    @converts("UTCDateTime")
    def convert_utc_datetime(self, field_args: Any, **extra: Any) -> UTCDateTimeField:
        return UTCDateTimeField(**field_args)


class ModelView(sqla.ModelView):
    """Flask-Admin's SQLAlchemy ModelView, with filters and form fields for UTC times.

    Hand the class to :class:`AdminView` (``view_class``) with ``model=``; the core passes
    the database and checks permissions.
    """

    filter_converter = UTCFilterConverter()
    model_form_converter = UTCModelConverter

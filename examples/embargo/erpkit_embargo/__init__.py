"""erpkit-embargo: refuse orders to customers in embargoed countries.

The whole plugin: a declaration (``PLUGIN``), one parameter (``embargo.regions``) and one
hook implementation (``erpkit_order_validate``). It has no tables, so no migrations.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pycountry
from marshmallow import ValidationError, fields
from sqlalchemy.orm import Session

from erpkit import Parameter, PluginMeta, Problem, hookimpl
from erpkit.parameters import get_value

__version__ = "0.1.0"

PLUGIN = PluginMeta(
    name="embargo",
    requires=("orders",),  # it validates orders: without the orders plugin it is refused
    core=">=0.1,<0.2",
    description="Refuses orders to customers in embargoed countries.",
)

REGIONS = "embargo.regions"


def country_name(code: str) -> str | None:
    """The ISO 3166-1 name of an alpha-2 code, or ``None`` when there is no such country."""
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country is not None else None


class CountryCodes(fields.List):
    """A list of ISO 3166-1 alpha-2 country codes.

    Accepts a list, or text separated by commas (``"KP, IR"``, as typed after
    ``erpkit settings set``). Codes are upper-cased, sorted and deduplicated; an unknown
    code is refused with the reason.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.String(), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        codes = {code.strip().upper() for code in super()._deserialize(value, attr, data,
                                                                        **kwargs)}
        unknown = sorted(code for code in codes if country_name(code) is None)
        if unknown:
            raise ValidationError(
                f"not ISO 3166-1 alpha-2 country codes: {', '.join(unknown)} "
                "(use two letters, e.g. KP, IR)")
        return sorted(codes)


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    return [
        Parameter(
            name=REGIONS,
            type=CountryCodes(),
            default=[],
            description="Countries (ISO 3166-1 alpha-2 codes, comma-separated) whose "
            "customers may not order.",
        )
    ]


@hookimpl
def erpkit_order_validate(order: Any, session: Session) -> Iterable[Problem]:
    """Refuse an order whose customer's country is under embargo.

    Runs in the order's transaction at every stage (create, update, submit), so a
    country added to the list also stops orders already drafted. ``stage`` is not needed,
    so it is not among the arguments (hooks take only the arguments they name).
    """
    customer = getattr(order, "customer", None)
    country = (getattr(customer, "country", None) or "").upper()
    if not country or country not in get_value(session, REGIONS):
        return []
    return [
        Problem(
            field="customer.country",
            code="embargoed",
            message=f"orders to {country_name(country) or country} ({country}) are under "
            f"embargo (parameter {REGIONS})",
        )
    ]

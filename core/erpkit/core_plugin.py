"""The core's own hook implementations: the parameters every installation has."""

from __future__ import annotations

from marshmallow import fields, validate

from erpkit import hookimpl
from erpkit.parameters import Parameter


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    return [
        Parameter(
            name="core.default_currency",
            type=fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="use a 3-letter ISO 4217 code")),
            default="EUR",
            description="Currency of orders that name none (ISO 4217 code).",
        ),
        Parameter(
            name="core.company_name",
            type=fields.String(validate=validate.Length(min=1, max=200)),
            default="erpkit demo company",
            description="Shown in the console title and in e-mails.",
        ),
    ]

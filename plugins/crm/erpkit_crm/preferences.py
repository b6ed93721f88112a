"""Preferences: typed attributes of a customer that admins define as a parameter.

The parameter ``crm.preference_attributes`` is a list of definitions, each
``{"name", "type", "label", "choices", "keys"}``. Types:

========== ==================================== =========================================
type       value                                 example
========== ==================================== =========================================
string     text (at most 200 characters)         ``colour: "navy"``
choice     one of ``choices``                    ``size: "M"``
list       several texts, from ``choices`` if    ``fabric: ["wool", "linen"]``
           any are given
decimal    a decimal number                      ``shoe_size: "42.5"``
decimals   a set of named decimals, the names    ``measurements: {"chest": "102.5"}``
           from ``keys`` if any are given
boolean    true or false                         ``gift_wrap: true``
========== ==================================== =========================================

Values are validated against the definitions on the way in; a bad one is a problem
naming ``preferences.<name>`` and the reason. Decimals are read strictly (ASCII digits,
at most four places, never a float) and kept as exact strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from erpkit import Problem, ValidationFailed
from erpkit.schemas import StrictDecimal

TYPES = ("string", "choice", "list", "decimal", "decimals", "boolean")


class AttributeSchema(Schema):
    """One preference attribute, as an admin defines it."""

    name = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_]{0,39}$", error="lower-case letters, digits and _, at most 40"))
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    label = fields.String(load_default="")
    choices = fields.List(fields.String(), load_default=list)
    keys = fields.List(fields.String(), load_default=list)

    @validates_schema
    def _choices_for_a_choice(self, data: Mapping[str, Any], **_kw: Any) -> None:
        if data.get("type") == "choice" and not data.get("choices"):
            raise ValidationError("a choice needs its choices", "choices")


def attribute_field() -> fields.Field:
    """The marshmallow type of the parameter: a list of attribute definitions."""
    return fields.List(fields.Nested(AttributeSchema()))


#: A decimal preference (a measurement, a size): read like every decimal of the API, at
#: most four places (:data:`erpkit.db.Precise`); never a float.
_DECIMAL = StrictDecimal(4)


def _decimal(value: Any) -> str:
    try:
        return str(_DECIMAL.deserialize(value))
    except ValidationError as exc:
        reason = " ".join(map(str, exc.messages if isinstance(exc.messages, list)
                              else [exc.messages]))
        raise ValueError(f"{value!r} is not a decimal number: {reason}") from None


def _clean(definition: Mapping[str, Any], value: Any) -> Any:
    """The stored form of ``value`` for one attribute, or ValueError saying why not."""
    kind, choices, keys = definition["type"], definition.get("choices") or [], \
        definition.get("keys") or []
    if kind == "string":
        if not isinstance(value, str) or len(value) > 200:
            raise ValueError("must be text of at most 200 characters")
        return value
    if kind == "choice":
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of texts")
        unknown = [v for v in value if choices and v not in choices]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not among: {', '.join(choices)}")
        return list(dict.fromkeys(value))
    if kind == "decimal":
        return _decimal(value)
    if kind == "decimals":
        if not isinstance(value, dict):
            raise ValueError("must be an object of named decimal numbers")
        unknown = [k for k in value if keys and k not in keys]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not among: {', '.join(keys)}")
        return {str(k): _decimal(v) for k, v in value.items()}
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    raise ValueError(f"unknown type {kind!r}")  # pragma: no cover (the schema refuses it)


def validate_preferences(definitions: list[Mapping[str, Any]],
                         values: Mapping[str, Any]) -> dict[str, Any]:
    """The values, cleaned; :class:`ValidationFailed` naming every bad one.

    ``None`` removes a value. A name no definition has is refused.
    """
    by_name = {d["name"]: d for d in definitions}
    cleaned: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in values.items():
        definition = by_name.get(name)
        if definition is None:
            problems.append(Problem(field=f"preferences.{name}", code="unknown",
                                    message="no such preference; defined: "
                                    + (", ".join(by_name) or "none")))
            continue
        if value is None:
            cleaned[name] = None
            continue
        try:
            cleaned[name] = _clean(definition, value)
        except ValueError as exc:
            problems.append(Problem(field=f"preferences.{name}", code="invalid",
                                    message=str(exc)))
    if problems:
        raise ValidationFailed(problems)
    return cleaned


def merge(stored: Mapping[str, Any], cleaned: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**stored, **cleaned}
    return {k: v for k, v in merged.items() if v is not None}


def shown(definitions: list[Mapping[str, Any]], stored: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every defined attribute with its label and the customer's value (``None`` if unset),
    in the definitions' order: what the order form and the customer page show."""
    return [{"name": d["name"], "label": d.get("label") or d["name"].replace("_", " "),
             "type": d["type"], "value": stored.get(d["name"])} for d in definitions]

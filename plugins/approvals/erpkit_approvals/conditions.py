"""Conditions as data: typed values, a fixed table of operators, and sentences.

A condition is ``{"fact": ..., "operator": ..., "value": ...}``. Nothing here ever
evaluates text as code: a value is parsed as the fact's declared type when the rule is
saved (``__import__('os')`` is not a decimal, so it is refused), and evaluation looks the
operator up in :data:`OPERATORS` and applies a plain comparison.

Values of ``string`` facts are literals compared as written. A string fact may declare
the shape its values take (:data:`VALUE_PATTERNS`); a value that does not fit that
shape is refused at save, because it could never match. Facts without a declared shape
accept any text up to 200 characters.
"""

from __future__ import annotations

import operator as op
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from erpkit.facts import FactDefinition

Test = Callable[[Any, Any], bool]


def _contains(actual: Any, expected: Any) -> bool:
    return expected in actual


def _in(actual: Any, expected: Any) -> bool:
    return actual in expected


def _not_in(actual: Any, expected: Any) -> bool:
    return actual not in expected


def _any_of(actual: Any, expected: Any) -> bool:
    return bool(set(actual) & set(expected))


def _none_of(actual: Any, expected: Any) -> bool:
    return not set(actual) & set(expected)


_COMPARISONS: dict[str, Test] = {
    ">": op.gt, ">=": op.ge, "<": op.lt, "<=": op.le, "=": op.eq, "!=": op.ne,
}

#: The operators each fact type allows, and what each one does.
OPERATORS: Mapping[str, Mapping[str, Test]] = {
    "decimal": _COMPARISONS,
    "integer": _COMPARISONS,
    "string": {"=": op.eq, "!=": op.ne, "in": _in, "not_in": _not_in, "contains": _contains},
    "string_list": {"contains": _contains, "any_of": _any_of, "none_of": _none_of},
    "boolean": {"is": op.eq},
}
#: Operators whose value is a list of strings.
LIST_OPERATORS = frozenset({"in", "not_in", "any_of", "none_of"})

#: The shapes the values of known string facts take (see the module docstring).
VALUE_PATTERNS: Mapping[str, str] = {
    "orders.channel": r"[a-z][a-z0-9_]*",
    "orders.customer_country": r"[A-Z]{2}",
    "orders.customer_region": r"\w[\w .,'&/-]{0,79}",
    "orders.categories": r"\w[\w .,&/-]{0,79}",
}
MAX_TEXT = 200
#: How ``why`` begins for a condition on a fact no enabled plugin declares.
MISSING_FACT = "missing fact"
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


class BadValue(ValueError):
    """A condition's value that is not data of the fact's type; the message says why."""


def value_pattern(fact: FactDefinition) -> str | None:
    return VALUE_PATTERNS.get(fact.name)


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise BadValue("expected a number, got true/false")
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(str(raw))
    elif isinstance(raw, str) and _DECIMAL.match(raw.strip()):
        value = Decimal(raw.strip())
    else:
        raise BadValue(f"{raw!r} is not a number (write it like 10000 or 12.5)")
    if not value.is_finite():
        raise BadValue(f"{raw!r} is not a finite number")
    return value


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise BadValue("expected a whole number, got true/false")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and _INTEGER.match(raw.strip()):
        return int(raw.strip())
    raise BadValue(f"{raw!r} is not a whole number")


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise BadValue(f"{raw!r} is not true or false")


def _text(raw: Any, pattern: str | None) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise BadValue(f"{raw!r} is not a text value")
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise BadValue(f"a text value is at most {MAX_TEXT} characters")
    if pattern and not re.fullmatch(pattern, text):
        raise BadValue(f"{text!r} is not a value this fact can take")
    return text


def _texts(raw: Any, pattern: str | None) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise BadValue(f"{raw!r} is not a list of values")
    return [_text(item, pattern) for item in items]


def parse_value(fact: FactDefinition, operator: str, raw: Any) -> Any:
    """``raw`` as a typed value for a condition on ``fact`` with ``operator``.

    Raises :class:`BadValue` naming the problem. Never evaluates anything.
    """
    if raw is None:
        raise BadValue("a value is required")
    if fact.type == "decimal":
        return _decimal(raw)
    if fact.type == "integer":
        return _integer(raw)
    if fact.type == "boolean":
        return _boolean(raw)
    pattern = value_pattern(fact)
    if operator in LIST_OPERATORS:
        return _texts(raw, pattern)
    return _text(raw, pattern)


def to_json(value: Any) -> Any:
    """A typed value as stored in a rule version (decimals as exact strings)."""
    if isinstance(value, Decimal):
        return str(value)
    return value


def fact_to_json(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(v) for v in value]
    return to_json(value)


def holds(fact: FactDefinition, operator: str, actual: Any, expected_json: Any) -> bool:
    """Whether the condition is true of ``actual``. A missing fact (``None``) or an
    operator the fact's type does not allow never holds."""
    test = OPERATORS.get(fact.type, {}).get(operator)
    if actual is None or test is None:
        return False
    expected = parse_value(fact, operator, expected_json)
    if fact.type == "decimal":
        actual = Decimal(actual)
    return bool(test(actual, expected))


# --- sentences -----------------------------------------------------------------------


def label(fact_name: str) -> str:
    """``orders.max_line_discount_percent`` -> ``max line discount percent``."""
    return fact_name.split(".", 1)[-1].replace("_", " ")


def show(value: Any) -> str:
    """A value as a person reads it: ``Decimal('12400')`` -> ``12,400.00``."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        if value == value.quantize(Decimal("0.01")):
            return f"{value:,.2f}"
        return f"{value.normalize():,}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(show(v) for v in value) + ")"
    return str(value)


def sentence(fact: FactDefinition, operator: str, actual: Any, expected_json: Any) -> str:
    """``total 12,400.00 > 10,000.00``: the fact, its value, the operator, the limit."""
    expected = parse_value(fact, operator, expected_json)
    if fact.type == "decimal" and actual is not None:
        actual = Decimal(actual)
    if fact.type == "boolean":
        return f"{label(fact.name)}: {show(actual)}"
    return f"{label(fact.name)} {show(actual)} {operator.replace('_', ' ')} {show(expected)}"


def evaluate(definition: Mapping[str, Any], facts: Mapping[str, Any],
             declared: Mapping[str, FactDefinition]) -> tuple[bool, str, dict[str, Any]]:
    """Whether a rule version matches: ``(matched, why, fact values tested)``.

    ``why`` is the sentence of the conditions that held (``total 12,400.00 > 10,000.00``).

    ``match`` ``all`` needs every condition, ``any`` one of them; a rule without
    conditions matches every order. A condition on a fact no enabled plugin declares (its
    plugin was disabled or removed) holds, and ``why`` says the fact is missing: nobody
    can tell what the fact would say, so the order waits for a person (fail closed).
    """
    reasons: list[str] = []
    tested: dict[str, Any] = {}
    results: list[bool] = []
    for condition in definition.get("conditions", []):
        fact = declared.get(condition["fact"])
        if fact is None:
            tested[condition["fact"]] = None
            results.append(True)
            reasons.append(f"{MISSING_FACT} {condition['fact']} (no enabled plugin "
                           "declares it)")
            continue
        actual = facts.get(fact.name)
        tested[fact.name] = fact_to_json(actual)
        result = holds(fact, condition["operator"], actual, condition["value"])
        results.append(result)
        if result:
            reasons.append(sentence(fact, condition["operator"], actual, condition["value"]))
    if not results:
        return True, "every order", tested
    matched = all(results) if definition.get("match", "all") == "all" else any(results)
    joiner = " and " if definition.get("match", "all") == "all" else " or "
    return matched, joiner.join(reasons) if matched else "", tested

"""Facts: typed, named values about an order that approval rules may test."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from erpkit.problems import ValidationFailed
from erpkit.transitions import TransitionFailed, TransitionRefused

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from erpkit.plugins import Registry

FACT_TYPES = ("decimal", "integer", "string", "boolean", "string_list")


@dataclass(frozen=True, slots=True)
class FactDefinition:
    """A fact a plugin computes for an order (see ``erpkit_fact_definitions``)."""

    name: str
    type: str
    description: str

    def __post_init__(self) -> None:
        if self.type not in FACT_TYPES:
            raise ValueError(
                f"fact {self.name!r}: type {self.type!r} is not one of {', '.join(FACT_TYPES)}"
            )


class FactValueError(TypeError):
    """A plugin produced a fact it does not declare, or a value of the wrong type."""


def _is_number(value: Any) -> bool:
    return isinstance(value, Decimal | int) and not isinstance(value, bool)


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset) and all(
        isinstance(item, str) for item in value)


#: What a value of each fact type may be; ``None`` (the order does not say) always may.
_VALUE_CHECKS: Mapping[str, tuple[Callable[[Any], bool], str]] = {
    # No float: money and percentages are exact (a float 0.1 is not 0.1).
    "decimal": (_is_number, "a Decimal (or an int)"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an int"),
    "string": (lambda v: isinstance(v, str), "a str"),
    "boolean": (lambda v: isinstance(v, bool), "a bool"),
    "string_list": (_is_text_list, "a list of str"),
}


def check_fact_values(plugin: str, values: Mapping[str, Any],
                      declared: Mapping[str, tuple[str, FactDefinition]]) -> None:
    """Refuse, naming ``plugin`` and the fact, a value ``plugin`` may not produce: a fact
    it does not declare itself, or a value that is not of the declared type."""
    for name, value in values.items():
        owner, definition = declared.get(name, (None, None))
        if definition is None or owner != plugin:
            whose = f"it is declared by {owner!r}" if owner else "no plugin declares it"
            raise FactValueError(
                f"plugin {plugin!r} produced the fact {name!r}, but {whose}. Fix: return only "
                f"the facts {plugin!r} declares in erpkit_fact_definitions.")
        accepts, expected = _VALUE_CHECKS[definition.type]
        if value is not None and not accepts(value):
            raise FactValueError(
                f"plugin {plugin!r} produced the fact {name!r} = {value!r} "
                f"({type(value).__name__}), but declares it {definition.type}. Fix: return "
                f"{expected}, or None when the order does not say.")


def checked_order_facts(registry: Registry, order: Any, session: Session) -> dict[str, Any]:
    """Every enabled plugin's facts about ``order`` (hook ``erpkit_order_facts``), each
    value checked against its declaration where it was produced.

    Each implementation is called on its own, so a wrong value names the plugin that
    returned it; a failure raises :class:`TransitionFailed` naming the plugin.
    """
    arguments = {"order": order, "session": session}
    merged: dict[str, Any] = {}
    for impl in reversed(registry.hook.erpkit_order_facts.get_hookimpls()):
        plugin = impl.plugin_name
        try:
            values = impl.function(**{name: arguments[name] for name in impl.argnames}) or {}
            check_fact_values(plugin, values, registry.facts)
        except (TransitionRefused, ValidationFailed, TransitionFailed) as exc:
            if isinstance(exc, TransitionRefused):
                exc.plugin = exc.plugin or plugin
            raise
        except Exception as exc:
            raise TransitionFailed(plugin, exc) from exc
        merged.update(values)
    return merged


def fact_uses(registry: Registry, session: Session) -> dict[str, list[str]]:
    """What tests each fact, from every plugin (hook ``erpkit_fact_uses``)."""
    merged: dict[str, list[str]] = {}
    for found in registry.hook.erpkit_fact_uses(session=session):
        for name, uses in (found or {}).items():
            merged.setdefault(name, []).extend(uses)
    return merged


def uses_of_missing_facts(registry: Registry, session: Session) -> list[str]:
    """Warnings, one a line, about data testing a fact no enabled plugin declares."""
    return [
        f"{use} tests the fact {name!r}, which no enabled plugin declares: it holds every "
        f"order it tests for a person. Fix: enable the plugin {name.partition('.')[0]!r} "
        "again, or change the rule."
        for name, uses in sorted(fact_uses(registry, session).items())
        if name not in registry.facts
        for use in uses
    ]


def uses_of_plugin_facts(registry: Registry, session: Session, plugin: str) -> list[str]:
    """Warnings, one a line, about data testing facts that ``plugin`` declares: once it is
    disabled or uninstalled, that data holds the orders it tests for a person."""
    return [
        f"{use} tests the fact {name!r}"
        for name, uses in sorted(fact_uses(registry, session).items())
        if registry.facts.get(name, ("",))[0] == plugin
        for use in uses
    ]

"""Facts: typed, named values about an order that approval rules may test."""

from __future__ import annotations

from dataclasses import dataclass

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

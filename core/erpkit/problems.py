"""Problems: how bad input is reported, by the core and by every plugin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import marshmallow


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, named precisely enough for a person to fix it.

    Validation hooks (``erpkit_order_validate``) return problems instead of raising; the
    caller (API, CSV import, console) reports every problem of every plugin together, as
    HTTP 422 ``{"errors": [...]}`` or one line per problem on the command line.

        Problem(field="customer.country", code="embargoed",
                message="orders to KP are under embargo")
    """

    field: str
    """A dotted path into the input (``lines.2.quantity``); ``_schema`` for the whole."""
    message: str
    """What is wrong, for people: say the reason, and the fix when there is one."""
    code: str = "invalid"
    """A short stable word for programs (``invalid``, ``embargoed``, ``unknown_product``)."""
    line: int | None = None
    """The 1-based line number when the problem is about an order line or a file row."""
    severity: str = "error"
    """``error`` refuses the input; ``warning`` is reported but lets it through."""

    @property
    def is_error(self) -> bool:
        """Whether this problem refuses the input (severity ``error``)."""
        return self.severity == "error"

    def as_dict(self) -> dict[str, Any]:
        """The problem as JSON, leaving out what is ``None``."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class ValidationFailed(Exception):
    """Input was refused. Carries every problem found, not just the first.

    The web app turns it into HTTP 422 with ``{"errors": [...]}``; the CLI prints one
    line per problem.
    """

    status_code = 422

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))

    @classmethod
    def single(cls, field: str, message: str, code: str = "invalid") -> ValidationFailed:
        return cls([Problem(field=field, message=message, code=code)])


def errors_only(problems: Iterable[Problem | None]) -> list[Problem]:
    """The problems that refuse (severity ``error``), skipping ``None`` entries."""
    return [p for p in problems if p is not None and p.is_error]


_LOCATIONS = ("json", "query", "form", "files", "headers", "view_args")


def problems_from_messages(messages: Any, prefix: str = "") -> list[Problem]:
    """marshmallow's (or webargs') nested error messages as a flat list of problems.

    ``{"lines": {0: {"quantity": ["Not a valid number."]}}}`` becomes one problem with
    field ``lines.0.quantity``.
    """
    problems: list[Problem] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            nested = "" if (not prefix and key in _LOCATIONS) else (
                f"{prefix}.{key}" if prefix else str(key))
            problems.extend(problems_from_messages(value, nested))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        problems.append(Problem(field=prefix or "_schema", message=" ".join(messages)))
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            problems.extend(problems_from_messages(value, f"{prefix}.{index}"))
    else:
        problems.append(Problem(field=prefix or "_schema", message=str(messages)))
    return problems


def load(schema: marshmallow.Schema, data: Any) -> Any:
    """Load ``data`` with ``schema``, or raise :class:`ValidationFailed` naming each field."""
    if data is None:
        raise ValidationFailed.single("_schema", "a JSON object is required")
    try:
        return schema.load(data)
    except marshmallow.ValidationError as exc:
        raise ValidationFailed(problems_from_messages(exc.messages)) from None

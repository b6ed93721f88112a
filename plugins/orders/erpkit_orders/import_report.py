"""What an import reports: refused rows with their reason, what was created or changed.

Shared by the catalogue, customer and order imports, the command line (which prints
each refused row as it happens) and the API (which offers the refused rows as a CSV).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RowError:
    """A refused row: its number in the file (header = row 1), the record's key (order
    number, SKU, customer code), the column and why."""

    row: int
    key: str | None
    field: str
    message: str

    @property
    def order_number(self) -> str | None:
        return self.key


@dataclass(frozen=True)
class Change:
    """A record the import created or updated, with each changed field (old, new)."""

    row: int
    key: str
    outcome: str  # created | updated | differs
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def describe(self) -> str:
        told = ", ".join(f"{name}: {old!s} -> {new!s}" for name, (old, new) in
                         self.changes.items())
        return f"{self.key} {self.outcome}" + (f" ({told})" if told else "")


#: Called with each refused row as soon as it is refused (the CLI prints it).
OnRefused = Callable[[RowError], Any]
#: Called with each change as soon as it is known.
OnChange = Callable[[Change], Any]


def refused_rows_csv(errors: Iterable[RowError | dict[str, Any]]) -> str:
    """The refused rows as CSV (row, key, field, reason) in file order, to correct."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "key", "field", "reason"])
    rows = [asdict(error) if isinstance(error, RowError) else error for error in errors]
    for data in sorted(rows, key=lambda data: int(data["row"])):
        writer.writerow([data["row"], data.get("key") or "", data["field"], data["message"]])
    return out.getvalue()


def error_dict(error: RowError) -> dict[str, Any]:
    return asdict(error)


def change_dict(change: Change) -> dict[str, Any]:
    return {"row": change.row, "key": change.key, "outcome": change.outcome,
            "changes": {name: [_plain(old), _plain(new)]
                        for name, (old, new) in change.changes.items()}}


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | str) else str(value)

"""Pages of the console's lists (inbox, rules, overdue): the API's keyset pages, read
from the query string through the API's own schemas, with a link to the next page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, request, url_for
from marshmallow import Schema, ValidationError

from erpkit.problems import ValidationFailed


def page_args(schema: Schema) -> dict[str, Any]:
    """``limit`` and the cursor of the page asked for; a bad one is said, and the first
    page shown."""
    given = {key: value for key, value in request.args.items() if value.strip()}
    try:
        return dict(schema.load(given))
    except ValidationError as exc:
        flash("Showing the first page: " + "; ".join(
            f"{name}: {' '.join(map(str, why))}"
            for name, why in sorted(exc.normalized_messages().items())), "error")
        return dict(schema.load({}))


def read_page(read: Callable[[dict[str, Any]], list[Any]], args: dict[str, Any]) -> list[Any]:
    """``read(args)``; when the service refuses the cursor (one that no longer places
    a row), it is said and the first page read instead."""
    try:
        return read(args)
    except ValidationFailed as exc:
        flash(f"Showing the first page: {exc}", "error")
        first = {key: value for key, value in args.items() if key not in ("after", "before")}
        return read(first)


def next_url(cursor: Any, name: str = "after") -> str | None:
    """The link to the page after this one (``None`` on the last page), keeping the
    page's other arguments."""
    if cursor is None:
        return None
    values: dict[str, Any] = {key: value for key, value in request.args.items()
                              if key != name}
    values[name] = str(cursor)
    return url_for(".index", **values)

"""Refuse text no database can store, before any view sees it.

PostgreSQL rejects the NUL character in text, so a name with ``\\x00`` would fail deep in
a transaction as a server error. Every request's query, form and JSON body is checked
once here, and such input is refused as bad input (422), naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, request

from erpkit.problems import Problem, ValidationFailed

NUL = "\x00"
MESSAGE = "contains a NUL character (\\u0000), which cannot be stored"


def _nul_fields(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if NUL in value:
            yield path or "_schema"
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                yield key_path
            yield from _nul_fields(item, key_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_fields(item, f"{path}.{index}" if path else str(index))


def refuse_nul_characters() -> None:
    found = [key for key, value in [*request.args.items(multi=True),
                                    *request.form.items(multi=True)]
             if NUL in f"{key}{value}"]
    if request.is_json:
        found.extend(_nul_fields(request.get_json(silent=True), ""))
    if found:
        raise ValidationFailed([Problem(field=f, message=MESSAGE, code="invalid_character")
                                for f in dict.fromkeys(found)])


def init_input_guard(app: Flask) -> None:
    app.before_request(refuse_nul_characters)

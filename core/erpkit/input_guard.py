"""Refuse input no view should ever see, before any view sees it.

* Text no database can store: PostgreSQL rejects the NUL character, and a lone UTF-16
  surrogate (``"\\ud800"`` in JSON) cannot even be encoded as UTF-8, so either would fail
  deep in a transaction as a server error. Every request's path, query, form and JSON
  body is checked once here, and such input is refused as bad input (422), naming the
  field.
* JSON nested deeper than :data:`MAX_JSON_DEPTH`: Python's parser gives up at about a
  thousand levels with a ``RecursionError`` (a 500), and no erpkit document needs more
  than a handful. Refused with 400, like any body that is not JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from erpkit.problems import Problem, ValidationFailed

#: NUL (PostgreSQL refuses it in text) and the UTF-16 surrogates (not text at all).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = ("contains a NUL character (\\u0000) or a lone surrogate (\\ud800-\\udfff), "
           "which cannot be stored")
#: Deep enough for every erpkit document (an order is 3 levels), shallow enough that no
#: parser or schema recurses its way into trouble.
MAX_JSON_DEPTH = 32


def _unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def _bad_fields(document: Any) -> Iterator[str]:
    """Dotted paths of the strings (and keys) in ``document`` that cannot be stored.

    Walked with a stack, not recursion: the document may be as deep as the parser allows.
    """
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _unstorable(value):
                yield path or "_schema"
        elif isinstance(value, dict):
            for key, item in value.items():
                key_path = f"{path}.{key}" if path else str(key)
                if _unstorable(str(key)):
                    yield key_path
                stack.append((item, key_path))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{index}" if path else str(index))
                         for index, item in enumerate(value))


def json_depth(document: Any) -> int:
    """How deeply ``document``'s lists and objects nest (a scalar is 0)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((item, depth) for item in
                         (value.values() if isinstance(value, dict) else value))
    return deepest


def _json_body() -> Any:
    """The parsed JSON body, or ``None`` when it is not JSON (the view's parser reports
    that); refuses a body nested too deeply."""
    try:
        document = json.loads(request.get_data(cache=True))
    except RecursionError:
        document = None
        depth = MAX_JSON_DEPTH + 1
    except ValueError:  # also UnicodeDecodeError: not JSON, said by whoever parses it
        return None
    else:
        depth = json_depth(document)
    if depth > MAX_JSON_DEPTH:
        raise BadRequest(f"the JSON body nests more than {MAX_JSON_DEPTH} levels deep")
    return document


def refuse_unstorable_input() -> None:
    found = ["path"] if _unstorable(request.path) else []
    found += [key for key, value in [*request.args.items(multi=True),
                                     *request.form.items(multi=True)]
              if _unstorable(f"{key}{value}")]
    if request.is_json:
        found.extend(_bad_fields(_json_body()))
    if found:
        raise ValidationFailed([Problem(field=f, message=MESSAGE, code="invalid_character")
                                for f in dict.fromkeys(found)])


def init_input_guard(app: Flask) -> None:
    app.before_request(refuse_unstorable_input)

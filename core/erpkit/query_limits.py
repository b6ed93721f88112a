"""A time limit on the database work of one web request.

A query that runs away (a huge period, a missing index) must not hold a worker until the
server kills it: the database stops it and the client gets a 503 saying so.

* PostgreSQL: ``statement_timeout`` on every connection of the app's engine (set through
  the connection's startup options, so it costs no round trip);
* SQLite: a progress handler on every connection, called every few thousand virtual
  machine steps, interrupts the statement once the request's deadline has passed.

The limit is ``ERPKIT_STATEMENT_TIMEOUT_MS`` (config ``STATEMENT_TIMEOUT_MS``, default
20000, below gunicorn's default 30 s worker timeout; ``0`` turns it off). On SQLite it
applies to requests only, never to CLI commands or workers.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, jsonify, render_template_string, request

log = logging.getLogger(__name__)

DEFAULT_STATEMENT_TIMEOUT_MS = 20_000
#: SQLite VM instructions between two looks at the clock (about a millisecond of work).
PROGRESS_STEPS = 10_000
#: The SQLSTATE PostgreSQL reports for a statement stopped by statement_timeout.
QUERY_CANCELED = "57014"

#: When the current request's database work must stop (``time.monotonic()``), if at all.
_deadline: ContextVar[float | None] = ContextVar("erpkit_query_deadline", default=None)


def statement_timeout_ms(config: Mapping[str, Any]) -> int:
    raw = config.get("STATEMENT_TIMEOUT_MS",
                     os.environ.get("ERPKIT_STATEMENT_TIMEOUT_MS", DEFAULT_STATEMENT_TIMEOUT_MS))
    if not str(raw).strip().isdigit():
        raise ValueError(f"ERPKIT_STATEMENT_TIMEOUT_MS={raw!r} is not a number of "
                         "milliseconds. Fix: e.g. 20000, or 0 for no limit")
    return int(raw)


def with_statement_timeout(options: dict[str, Any], timeout_ms: int) -> dict[str, Any]:
    """Engine options (see :func:`erpkit.db.engine_options`) with the PostgreSQL limit."""
    if timeout_ms and options["url"].startswith("postgresql"):
        connect_args = dict(options.get("connect_args", {}))
        connect_args["options"] = (f"{connect_args.get('options', '')} "
                                   f"-c statement_timeout={timeout_ms}").strip()
        options = {**options, "connect_args": connect_args}
    return options


def _past_deadline() -> int:
    deadline = _deadline.get()
    return 1 if deadline is not None and time.monotonic() > deadline else 0


def install_progress_handler(engine: sa.Engine) -> None:
    """Let SQLite statements of a request stop at the request's deadline."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_erpkit_deadline", False):
        return
    engine._erpkit_deadline = True  # type: ignore[attr-defined]

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_progress_handler(_past_deadline, PROGRESS_STEPS)


def is_query_timeout(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it was raised from) is a statement stopped by the limit."""
    seen = 0
    while exc is not None and seen < 10:
        original = getattr(exc, "orig", None)
        if getattr(original, "sqlstate", None) == QUERY_CANCELED:
            return True
        if isinstance(original, sqlite3.OperationalError) and "interrupted" in str(original):
            return True
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "error", None)
        seen += 1
    return False


_TIMEOUT_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Took too long</title></head><body><h1>This took too long</h1>
<p>The database stopped the request after {{ seconds }} s. Ask for less (a shorter
period, fewer rows) and try again.</p></body></html>"""


def timeout_response() -> Any:
    """The 503 a client gets when its request's database work hit the limit."""
    seconds = current_app.config["STATEMENT_TIMEOUT_MS"] / 1000
    log.warning("database time limit hit on %s %s", request.method, request.path)
    if request.path.startswith("/api") or request.is_json:
        return jsonify({"message": f"the database stopped this request after {seconds:g} s; "
                        "ask for less (a shorter period, fewer rows) and try again",
                        "code": "query_timeout"}), 503, {"Retry-After": "30"}
    return render_template_string(_TIMEOUT_PAGE, seconds=f"{seconds:g}"), 503


def init_query_limits(app: Flask, engine: sa.Engine) -> None:
    """Start each request's deadline, and stop SQLite at it (PostgreSQL's limit is in the
    engine's connection options)."""
    timeout = app.config["STATEMENT_TIMEOUT_MS"]
    if not timeout:
        return
    install_progress_handler(engine)

    @app.before_request
    def _start_deadline() -> None:
        _deadline.set(time.monotonic() + timeout / 1000)

    @app.teardown_request
    def _end_deadline(_exc: BaseException | None) -> None:
        _deadline.set(None)

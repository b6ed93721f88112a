"""Where the pipeline's time goes: SQL statements per order and a pyinstrument profile.

    .venv/bin/pip install pyinstrument      # once; a tool for this script only
    .venv/bin/python bench/profile_pipeline.py --orders 300 [--db sqlite] [--html out.html]

Runs the pipeline of ``pipeline.py`` on a fresh database: first a few orders to warm
up, then a sample with every SQL statement counted (per order, by verb and table, and
by the module of erpkit that issued it), then N orders under pyinstrument. Prints one
JSON document with the counts and the profile as text.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _common import active_plugins, build_app, emit, fresh_database, migrate, progress
from sqlalchemy.orm import Session
from workload import SEED, run_pipeline, seed_catalogue


def _statement_kind(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper() if words else "?"
    if verb == "SELECT":
        match = re.search(r"\bFROM\s+\"?(\w+)", statement)
        return f"SELECT {match.group(1) if match else '?'}"
    if verb in ("INSERT", "DELETE"):
        return f"{verb} {words[2].strip(chr(34))}" if len(words) > 2 else verb
    if verb == "UPDATE":
        return f"UPDATE {words[1].strip(chr(34))}" if len(words) > 1 else verb
    return verb


def _caller() -> str:
    """The innermost erpkit module on the stack (who issued the statement)."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        name = frame.filename
        if "/erpkit" in name and "/bench/" not in name:
            module = name.split("/erpkit", 1)[1]
            return "erpkit" + module.removesuffix(".py").replace("/", ".") + f":{frame.name}"
    return "?"


def count_statements(app: Any, catalogue: Any, orders: int) -> dict[str, Any]:
    from erpkit.db import db

    with app.app_context():
        engine = db.engine
    by_kind: Counter[str] = Counter()
    by_caller: Counter[str] = Counter()

    def listener(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, _many: bool) -> None:
        by_kind[_statement_kind(statement)] += 1
        by_caller[_caller()] += 1

    flushes: Counter[str] = Counter()

    def flushed(session: Any, _context: Any, _instances: Any) -> None:
        # Who asked: the innermost erpkit frame (an autoflush names the query's caller).
        if session.new or session.dirty or session.deleted:
            flushes[_caller()] += 1

    sa.event.listen(engine, "before_cursor_execute", listener)
    sa.event.listen(Session, "before_flush", flushed)
    try:
        run_pipeline(app, catalogue, orders, seed=SEED + 2)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
        sa.event.remove(Session, "before_flush", flushed)
    per_order = sum(by_kind.values()) / orders
    return {
        "statements_per_order": round(per_order, 1),
        "by_statement": {k: round(v / orders, 2) for k, v in by_kind.most_common()},
        "by_caller": {k: round(v / orders, 2) for k, v in by_caller.most_common(40)},
        "flushes_per_order": round(sum(flushes.values()) / orders, 2),
        "flushes_by_caller": {k: round(v / orders, 2) for k, v in flushes.most_common(20)},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--plugins", help="comma-separated plugins to enable (default: all)")
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)
    try:
        import pyinstrument
    except ImportError:
        sys.exit("pyinstrument is not installed: .venv/bin/pip install pyinstrument")

    result: dict[str, Any] = {"benchmark": "profile_pipeline", "db": args.db}
    with fresh_database(args.db) as database:
        plugins = args.plugins.split(",") if args.plugins else None
        migrate(database.url, plugins)
        app = build_app(database.url, plugins)
        result["plugins"] = active_plugins(app)
        catalogue = seed_catalogue(app)
        run_pipeline(app, catalogue, 30, seed=SEED - 1)  # warm-up
        progress("counting statements over 50 orders")
        result["sql"] = count_statements(app, catalogue, 50)
        progress(f"profiling {args.orders} orders")
        profiler = pyinstrument.Profiler(interval=0.0005)
        profiler.start()
        run_pipeline(app, catalogue, args.orders, seed=SEED + 3)
        profiler.stop()
        result["profile"] = profiler.output_text(unicode=False, color=False).splitlines()
        if args.html:
            args.html.write_text(profiler.output_html())
        from erpkit.db import db

        with app.app_context():
            db.engine.dispose()
    emit(result)
    return result


if __name__ == "__main__":
    main()

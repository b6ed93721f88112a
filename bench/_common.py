"""What every benchmark script shares: databases, the app, the machine, memory, output.

Benchmarks print one JSON document to stdout and their progress to stderr. They assert
nothing about timings: they measure, and the README quotes what they printed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

PG_SERVER_URL = os.environ.get(
    "ERPKIT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BENCH_DIR = Path(__file__).resolve().parent


def progress(message: str) -> None:
    """One line of progress on stderr (stdout is reserved for the JSON result)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    """Print the result document, the only thing a benchmark writes to stdout."""
    sys.stdout.write(to_json(result) + "\n")
    sys.stdout.flush()


def to_json(value: Any, indent: int = 0) -> str:
    """JSON indented by nesting, with short lists and objects kept on one line."""
    flat = json.dumps(value, default=str)
    if not isinstance(value, dict | list) or len(flat) + indent <= 96:
        return flat
    inner = " " * (indent + 2)
    if isinstance(value, list):
        items = [inner + to_json(item, indent + 2) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{inner}{json.dumps(str(k))}: {to_json(v, indent + 2)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


def rounded(seconds: float, digits: int = 3) -> float:
    return round(seconds, digits)


# --- the machine ------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def postgresql_version() -> str | None:
    try:
        engine = sa.create_engine(PG_SERVER_URL)
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        engine.dispose()
        return str(version)
    except Exception:
        return None


def machine() -> dict[str, Any]:
    """The machine and software versions, so a figure can be compared with another run."""
    from importlib.metadata import version

    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
    except (OSError, ValueError):
        nproc = os.cpu_count() or 0
    return {
        "nproc": nproc,
        "cpu": _cpu_model(),
        "ram_gib": _ram_gib(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgresql_version(),
        "sqlalchemy": version("SQLAlchemy"),
        "pluggy": version("pluggy"),
        "erpkit": version("erpkit"),
    }


# --- memory -----------------------------------------------------------------------------


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


# --- databases --------------------------------------------------------------------------


@dataclass
class Database:
    """A throwaway database: a SQLite file in a temporary folder, or a PostgreSQL database
    of its own on the server (dropped by :meth:`drop`)."""

    backend: str
    url: str
    name: str
    folder: Path | None = None
    copies: list[Database] = field(default_factory=list)

    def snapshot(self, label: str) -> Database:
        """A copy of this database as it is now (no connection may be open on PostgreSQL)."""
        if self.backend == "sqlite":
            assert self.folder is not None
            target = self.folder / f"{label}.db"
            source = sqlite3.connect(self.name)
            dest = sqlite3.connect(target)
            source.backup(dest)
            dest.close()
            source.close()
            copy = Database("sqlite", f"sqlite:///{target}", str(target), self.folder)
        else:
            name = f"{self.name}_{label}"
            _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
            url = sa.make_url(PG_SERVER_URL).set(database=name)
            copy = Database("postgresql", url.render_as_string(hide_password=False), name)
        self.copies.append(copy)
        return copy

    def drop(self) -> None:
        for copy in self.copies:
            copy.drop()
        if self.backend == "sqlite":
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)
        else:
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _pg_admin(statement: str) -> None:
    server = sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(statement))
    server.dispose()


def new_database(backend: str) -> Database:
    """An empty database on ``backend`` (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="erpkit-bench-"))
        path = folder / "bench.db"
        return Database("sqlite", f"sqlite:///{path}", str(path), folder)
    if backend == "postgresql":
        name = f"bench_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        url = sa.make_url(PG_SERVER_URL).set(database=name)
        return Database("postgresql", url.render_as_string(hide_password=False), name)
    raise SystemExit(f"unknown backend {backend!r}: use sqlite or postgresql")


@contextmanager
def fresh_database(backend: str, keep: bool = False) -> Iterator[Database]:
    database = new_database(backend)
    try:
        yield database
    finally:
        if keep:
            progress(f"kept the database: {database.url}")
        else:
            database.drop()


# --- the app ----------------------------------------------------------------------------


def migrate(url: str, plugins: list[str] | None = None) -> float:
    """Bring the database to head with the real migrations; return the seconds it took.

    ``plugins``: the plugins to enable (default: every installed one).
    """
    from erpkit.migrate import upgrade
    from erpkit.plugins import load_plugins

    started = time.perf_counter()
    upgrade(load_plugins(set(plugins) if plugins else None), url)
    return time.perf_counter() - started


def build_app(url: str, plugins: list[str] | None = None) -> Any:
    """The real app with every installed plugin (or only ``plugins``), as the tests
    build it, settled as a server or worker process settles it before its first request
    (``erpkit.serving.settle_after_startup``: the start-up objects frozen out of the
    garbage collector's walks)."""
    from erpkit.app import create_app
    from erpkit.serving import settle_after_startup

    config: dict[str, Any] = {"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "bench-secret"}
    if plugins:
        config["PLUGINS"] = list(plugins)
    app = create_app(config)
    settle_after_startup()
    return app


def active_plugins(app: Any) -> dict[str, str]:
    registry = app.extensions["erpkit"]
    return {name: plugin.version for name, plugin in registry.plugins.items()}


def has_plugin(app: Any, name: str) -> bool:
    return name in app.extensions["erpkit"].plugins


def dispose_engine(app: Any) -> None:
    """Close every pooled connection (before a PostgreSQL database is used as a template)."""
    from erpkit.db import db

    with app.app_context():
        db.engine.dispose()

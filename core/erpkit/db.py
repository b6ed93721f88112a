"""The database layer every plugin shares: one metadata, column types, sessions.

Plugins define models on :class:`Base` and prefix their table names with their plugin
name (``orders_order``). Inside the app (requests, CLI commands, benchmarks) the session
is ``db.session``: one per app context, so one per request or command.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import InsertmanyvaluesSentinelOpts
from sqlalchemy.types import TypeDecorator

DEFAULT_DATABASE_URL = "sqlite:///erpkit.db"

# Stable constraint names on every backend, so migrations can name what they drop and
# SQLite batch mode can rebuild tables.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite stores no time zone, so values read back naive; this type refuses naive input
    (the bug it would hide is a local time stored as UTC) and labels output as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: erpkit stores timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: Money: 18 digits, 2 decimals, always :class:`~decimal.Decimal` in Python.
Money = sa.Numeric(18, 2, asdecimal=True)
#: Quantities and rates that need more precision than money (unit prices, percentages).
Precise = sa.Numeric(18, 4, asdecimal=True)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC. Use it instead of ``datetime.now()``."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base of every erpkit model, core and plugins alike."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money,
    }


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


#: The Flask extension that owns engines and sessions (Flask-SQLAlchemy-Lite).
db = SQLAlchemy()


class DatabaseDriverMissing(RuntimeError):
    """The database URL names a driver that is not installed; the message says the fix."""


#: Drivers an erpkit extra installs: backend+driver -> the extra.
DRIVER_EXTRAS = {("postgresql", "psycopg"): "postgresql"}
BACKEND_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL",
                 "mariadb": "MariaDB", "mssql": "SQL Server", "oracle": "Oracle"}


def check_database_driver(url: str) -> None:
    """Raise :class:`DatabaseDriverMissing` when ``url``'s database driver cannot be
    imported, naming what to install, before anything connects.

    SQLAlchemy imports the driver only when the first engine is made, so without this a
    missing driver is a traceback from deep inside the app factory.
    """
    parsed = sa.make_url(url)
    try:
        dialect = parsed.get_dialect()
    except sa.exc.NoSuchModuleError as exc:
        raise DatabaseDriverMissing(
            f"the database URL scheme {parsed.drivername!r} is unknown. Fix: use "
            "sqlite:///erpkit.db or postgresql+psycopg://user@host/database"
        ) from exc
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        backend, driver = parsed.get_backend_name(), dialect.driver
        extra = DRIVER_EXTRAS.get((backend, driver))
        fix = f'pip install "erpkit[{extra}]"' if extra else f"pip install {exc.name or driver}"
        raise DatabaseDriverMissing(
            f"{BACKEND_NAMES.get(backend, backend)} needs the {driver} driver, which is not "
            f"installed. Fix: {fix}"
        ) from exc


def engine_options(url: str) -> dict[str, Any]:
    """Engine arguments per backend; SQLite needs a longer lock wait for concurrent writers."""
    if url.startswith("sqlite"):
        return {"url": url, "connect_args": {"timeout": WRITE_LOCK_TIMEOUT}}
    return {"url": url, "pool_pre_ping": True}


def configure_engine(engine: sa.Engine) -> None:
    """Make SQLite behave like a real transactional database.

    * foreign keys enforced (off by default in SQLite);
    * WAL, so readers never wait for a writer;
    * ``BEGIN IMMEDIATE``: a transaction takes the write lock when it starts. With
      SQLite's default deferred begin, two transactions that read then write deadlock
      and one fails with "database is locked" at once instead of waiting its turn.
      Transactions that only read (GET requests, `read_only`) begin ``DEFERRED``
      instead: under WAL they read a snapshot and never block a writer.
    """
    if engine.dialect.name != "sqlite":
        return
    if getattr(engine, "_erpkit_configured", False):
        return
    engine._erpkit_configured = True  # type: ignore[attr-defined]
    # Let the ORM insert several rows of a table in one statement, as it does on
    # PostgreSQL. It needs to match the ids RETURNING gives back to its objects; on
    # SQLite it knows no way to, so it inserts rows one at a time (three order lines,
    # three statements). An INTEGER PRIMARY KEY is assigned in the order of the VALUES
    # rows (the next rowid, one row after the other, under the write lock), so the ids
    # sorted are the rows in order: this tells SQLAlchemy it may rely on that.
    engine.dialect.insertmanyvalues_implicit_sentinel = (
        InsertmanyvaluesSentinelOpts.ANY_AUTOINCREMENT)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if _reads_only(connection):
            connection.exec_driver_sql("BEGIN DEFERRED")
        else:
            _begin_immediate(connection)


#: How long a writer waits for SQLite's write lock before "database is locked" (the
#: connection's ``timeout``), and how often it asks for it meanwhile.
WRITE_LOCK_TIMEOUT = 30.0
WRITE_LOCK_POLL = 0.0005


def _begin_immediate(connection: sa.Connection) -> None:
    """``BEGIN IMMEDIATE``, asking for the write lock every half millisecond while
    another connection holds it.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries, so a
    writer that finds the lock taken wakes on average several milliseconds after it is
    free: two gunicorn workers wrote no more orders than one (bench/over_http.py). The
    busy handler is off (``busy_timeout=0``) only for the tries; the connection keeps
    its timeout for everything else.
    """
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as exc:
                if "locked" not in str(exc.orig) or time.monotonic() > deadline:
                    raise
            time.sleep(WRITE_LOCK_POLL)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={int(WRITE_LOCK_TIMEOUT * 1000)}")
        cursor.close()


#: Execution option of a connection whose transactions only read (see `read_only`).
READ_ONLY = "erpkit_read_only"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _reads_only(connection: sa.Connection) -> bool:
    """Whether this transaction only reads, so it must not take SQLite's write lock:
    a connection marked read-only, or a request whose method never changes anything
    (GET, HEAD, OPTIONS). Every other transaction takes the lock when it begins."""
    if connection.get_execution_options().get(READ_ONLY):
        return True
    from flask import has_request_context, request

    return has_request_context() and request.method in SAFE_METHODS


def read_only(session: sa.orm.Session) -> sa.orm.Session:
    """Begin ``session``'s transaction as one that only reads: on SQLite it takes no
    write lock (``BEGIN DEFERRED``), so writers need not wait for it. Call it before the
    session's first query; a transaction that writes must not use it."""
    session.connection(execution_options={READ_ONLY: True})
    return session


def reading_from_here(session: sa.orm.Session) -> sa.orm.Session:
    """After a write request's last commit: what is left (reading the answer's rows)
    runs in a transaction that only reads, so on SQLite it takes no write lock.

    A POST that answers with the order it moved reads its lines and timeline again
    after the commit; begun ``IMMEDIATE`` like every transaction of a POST, that read
    held the write lock while the answer was serialised, and another worker's write
    slept in SQLite's busy handler meanwhile (bench/over_http.py). Nothing may write in
    ``session`` after this; if a transaction is already open, it is left as it is.
    """
    if not session.in_transaction():
        read_only(session)
    return session


@contextmanager
def flushing_only(session: sa.orm.Session, *models: type) -> Iterator[None]:
    """Run a block whose statements touch only rows of ``models`` without flushing the
    rest of the session first: what is pending of ``models`` is flushed (the block must
    see it), anything else waits for the next flush. An order's transition changes the
    order row several times; each autoflush in between cost it one UPDATE more."""
    if has_pending(session, *models):
        session.flush()
    with session.no_autoflush:
        yield


def has_pending(session: sa.orm.Session, *models: type) -> bool:
    """Whether ``session`` holds a new, changed or deleted object of one of ``models``
    that it has not flushed yet."""
    return any(isinstance(obj, models)
               for pending in (session.new, session.dirty, session.deleted) for obj in pending)


def create_engine(url: str) -> sa.Engine:
    """An engine configured like the app's, for code that runs outside an app."""
    check_database_driver(url)
    options = engine_options(url)
    engine = sa.create_engine(options.pop("url"), **options)
    configure_engine(engine)
    return engine


def table_owner(table: sa.Table) -> str:
    """The plugin (or ``core``) that owns a table, read from its name prefix."""
    return str(table.info.get("owner") or table.name.split("_", 1)[0])


def among(column: Any, dialect: str, name: str) -> sa.ColumnElement[bool]:
    """``column IN :name``, the ids bound as one parameter ``name`` rather than one each.

    ``in_()`` binds every id on its own, and for a page of 500 products that expansion
    took longer than the query (bench/availability.py). PostgreSQL takes an array
    (``= ANY``), SQLite a JSON array read by ``json_each``; another database gets an
    expanding ``IN``. ``dialect`` is the engine's (``session.get_bind().dialect.name``),
    so a statement can be built once per dialect and run with ``{name: ids}``.
    """
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=_ID_ARRAY))
    if dialect == "sqlite":
        listed = sa.func.json_each(sa.bindparam(name, type_=sa.JSON)).table_valued("value")
        return column.in_(sa.select(listed.c.value))
    return column.in_(sa.bindparam(name, expanding=True))


_ID_ARRAY = sa.ARRAY(sa.BigInteger)

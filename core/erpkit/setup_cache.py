"""Set-up read once per process, and used only while it is current.

Set-up rows (the stored parameters, calendars, shipping weights) change when somebody
edits them, yet every order reads them: read per transaction they were a fifth of the
statements of an order's create and submit (issue 12). Here each *kind* of set-up has a
generation in ``core_cache_generation``, replaced in the same transaction that changes a
row of that kind. A transaction reads every generation in one statement, the first time
it asks for a cached value; a value this process loaded under the same generation is
used, anything else is loaded again. It is the scheme of Odoo's registry across its
workers (the ``base_registry_signaling`` and ``base_cache_signaling`` sequences, checked at
each request), with a generation per kind of set-up instead of one for everything.

What it guarantees, and what that rests on:

- A transaction never uses set-up older than what was committed when it read the
  generations: a change replaces its kind's generation in its own transaction, so a reader
  either sees the new generation (and loads) or comes before the commit.
- A transaction that changes a kind (pending or flushed) reads it from the database for the
  rest of the transaction and keeps nothing it read: it may still roll back.
- Generations are random tokens, and the row ``*`` (the epoch) is written when the database
  is created (the core's migration ``core_0007``) or emptied (:func:`new_epoch`): a database
  recreated under the same URL, or restored from a backup, never matches what a process
  kept of another one. Without an epoch row nothing is cached.
- Changes through an ORM session (objects, or ORM ``UPDATE``/``DELETE`` statements) replace
  the generation by themselves for the models given to :func:`declare`; code that writes
  set-up tables by other means (Core statements on a connection, SQL) calls
  :func:`changed` in the same transaction.

Values are shared by every thread and transaction of the process: they must be plain,
immutable values (numbers, strings, tuples, frozen dataclasses, mappings nobody changes),
never ORM objects, which belong to one session.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session

from erpkit.db import has_pending
from erpkit.models import CacheGeneration
from erpkit.transaction_cache import transaction_cache

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

#: The row whose token names this incarnation of the database.
EPOCH = "*"

_KINDS: dict[str, tuple[type, ...]] = {}
_GENERATIONS = "erpkit.setup_cache.generations"
_CHANGED = "erpkit.setup_cache.changed"
_TABLE: sa.Table = CacheGeneration.__table__  # type: ignore[assignment]
# On the table's columns, not the mapped class's: a Core statement skips the ORM's
# compile and result steps, half the cost of a read run once per transaction.
_READ_GENERATIONS = sa.select(_TABLE.c.name, _TABLE.c.generation)
#: (database URL, kind) -> (the generation the values were loaded under, {key: value}).
_VALUES: dict[tuple[str, str], tuple[tuple[str, str], dict[Any, Any]]] = {}
_LOCK = threading.Lock()


def declare(kind: str, *models: type) -> None:
    """Name a kind of set-up and the mapped classes whose rows make it up: a change to one
    of them through a session replaces the kind's generation. Called at import time by
    the module that caches the kind; declaring the same kind again adds models."""
    _KINDS[kind] = tuple(dict.fromkeys(_KINDS.get(kind, ()) + models))


def cached(session: Session, kind: str, key: Any, load: Callable[[], T]) -> T:
    """The value of ``key`` of the set-up ``kind``: kept by the process while the kind's
    generation stays the same, else ``load()`` (run in ``session``'s transaction)."""
    found = cached_many(session, kind, (key,), lambda _wanted: {key: load()}, missing=None)
    return found[key]  # type: ignore[return-value]


def cached_many(session: Session, kind: str, keys: Iterable[K],
                load_missing: Callable[[set[K]], Mapping[K, V]], missing: V) -> dict[K, V]:
    """The values of ``keys`` of the set-up ``kind`` (as :func:`cached`), the keys the
    process does not hold loaded in one call: ``load_missing(keys)`` answers those it
    has, and ``missing`` stands for the others (kept too: a key without a row is set-up)."""
    wanted = set(keys)
    if not wanted:
        return {}
    if _changed_here(session, kind) or (current := _generation(session, kind)) is None:
        found = load_missing(wanted)
        return {key: found.get(key, missing) for key in wanted}
    # Loaded outside the lock (a load may take a while); two threads loading the same key
    # at once both store the same rows.
    slot = (str(session.get_bind().engine.url), kind)
    with _LOCK:
        entry = _VALUES.get(slot)
        if entry is None or entry[0] != current:
            entry = _VALUES[slot] = (current, {})
        values = entry[1]
        known = {key: values[key] for key in wanted if key in values}
    if len(known) < len(wanted):
        with session.no_autoflush:  # nothing pending is of this kind (_changed_here)
            found = load_missing(wanted - known.keys())
        loaded = {key: found.get(key, missing) for key in wanted - known.keys()}
        with _LOCK:
            values.update(loaded)
        known.update(loaded)
    return known


def changed(session_or_connection: Session | sa.Connection, kind: str) -> None:
    """Replace ``kind``'s generation in the current transaction: for set-up written without
    the ORM (the ORM's own changes call this by themselves)."""
    if isinstance(session_or_connection, Session):
        session_or_connection.info.setdefault(_CHANGED, set()).add(kind)
        connection = session_or_connection.connection()
    else:
        connection = session_or_connection
    _replace(connection, kind)


def new_epoch(connection: sa.Connection) -> None:
    """Start a new incarnation of the database (created, or emptied by a test): nothing a
    process kept from before is used again."""
    connection.execute(_TABLE.delete())
    _replace(connection, EPOCH)


def forget_everything() -> None:
    """Drop what this process keeps (for tests that need a cold cache)."""
    with _LOCK:
        _VALUES.clear()


def _replace(connection: sa.Connection, kind: str) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    token = uuid.uuid4().hex
    statement = dialect.insert(_TABLE).values(name=kind, generation=token)
    connection.execute(statement.on_conflict_do_update(
        index_elements=["name"], set_={"generation": token}))


def _generation(session: Session, kind: str) -> tuple[str, str] | None:
    generations = transaction_cache(session, _GENERATIONS)
    if not generations:
        with session.no_autoflush:
            generations.update(session.execute(_READ_GENERATIONS).all())
        generations.setdefault(EPOCH, None)
    epoch = generations[EPOCH]
    return None if epoch is None else (epoch, generations.get(kind) or "")


def _changed_here(session: Session, kind: str) -> bool:
    """Whether this transaction changed ``kind``: flushed (recorded) or still pending (then
    flushed now, so what ``load`` reads includes it)."""
    if kind in session.info.get(_CHANGED, ()):
        return True
    models = _KINDS.get(kind, ())
    if models and has_pending(session, *models):
        session.flush()
        return kind in session.info.get(_CHANGED, ())
    return False


def _kinds_of(objects: Any) -> set[str]:
    return {kind for kind, models in _KINDS.items()
            if any(isinstance(obj, models) for obj in objects)}


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    # The new, dirty and deleted collections still hold what this flush wrote.
    kinds = _kinds_of([*session.new, *session.dirty, *session.deleted])
    for kind in kinds:
        changed(session, kind)


@event.listens_for(Session, "do_orm_execute")
def _orm_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is None:
        return
    for kind, models in _KINDS.items():
        if issubclass(mapper.class_, models):
            changed(state.session, kind)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    # Only the end of the whole transaction: a savepoint that rolls back a change leaves
    # the kind read from the database, which is slower, never wrong.
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)

"""Transitions: one change of an order's status, one transaction, all or nothing.

The orders module performs transitions; plugins take part through the lifecycle hooks.
A plugin refuses by raising :class:`TransitionRefused`; any failure rolls the whole
transition back. Work that must not happen unless the transition commits (mail,
webhooks) is registered with :meth:`Transition.after_commit` and runs after the commit.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from erpkit.plugins import Registry

log = logging.getLogger(__name__)

_AFTER_COMMIT_KEY = "erpkit.after_commit"
#: Where a session keeps its after-commit callbacks, as ``(savepoint, callback)`` pairs.
AFTER_COMMIT_KEY = _AFTER_COMMIT_KEY
#: Where a session keeps the rows it inserts at commit, as ``(savepoint, table, values)``.
_AT_COMMIT_ROWS_KEY = "erpkit.rows_at_commit"

T = TypeVar("T")


class TransitionRefused(Exception):
    """Raised by a plugin (or the core) to refuse a transition, with a message for people.

    The whole transition rolls back, so the order stays exactly as it was, and the caller
    answers HTTP 409 with `as_dict` as the body. ``message`` is shown to people as it is;
    ``field`` names the input at fault when there is one; ``code`` is a short stable word
    for programs (``refused``, ``insufficient_stock``). ``plugin`` is filled in by the
    core with the name of the plugin that raised it.

        raise TransitionRefused("W-1: 3 short (7 available, 10 ordered)",
                                field="lines.1.quantity", code="insufficient_stock")
    """

    status_code = 409

    def __init__(self, message: str, *, field: str | None = None, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.plugin: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of the refusal: ``message``, ``code``, and ``field``, ``plugin``."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
        if self.plugin:
            body["plugin"] = self.plugin
        return body


class NotFound(TransitionRefused):
    """What was asked for does not exist: a 404 with the one body every API answers,
    ``{"message": ..., "code": "not_found", "field": ...}`` (``field`` names the input
    that pointed at it, or is null).
    """

    status_code = 404

    def __init__(self, message: str, *, field: str | None = None,
                 code: str = "not_found") -> None:
        super().__init__(message, field=field, code=code)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code, "field": self.field}
        if self.plugin:
            body["plugin"] = self.plugin
        return body


def get_or_404(session: Session, model: type[T], key: Any, *, what: str,
               field: str | None = None, **options: Any) -> T:
    """``session.get(model, key)``, or :class:`NotFound` saying ``no <what> <key>``."""
    found = session.get(model, key, **options)
    if found is None:
        raise NotFound(f"no {what} {key}", field=field)
    return found


class TransitionFailed(Exception):
    """A plugin failed unexpectedly during a transition; the transition was rolled back."""

    status_code = 500

    def __init__(self, plugin: str | None, error: BaseException) -> None:
        where = f"plugin {plugin!r}" if plugin else "a plugin"
        super().__init__(f"{where} failed: {type(error).__name__}: {error}")
        self.plugin = plugin
        self.error = error

    def as_dict(self) -> dict[str, Any]:
        return {"message": str(self), "code": "plugin_failed", "plugin": self.plugin}


@dataclass
class Transition:
    """What a lifecycle hook knows about the transition it takes part in.

    Every lifecycle hook receives one as ``transition``. Write to the database with
    ``transition.session`` (the transition's own transaction), defer mail and webhooks
    with `after_commit`, add to the order's timeline with `note`, and refuse the move by
    raising `TransitionRefused`.

    Only the orders module's door (:func:`erpkit_orders.lifecycle.perform`) builds one.
    ``registry`` is the running set of plugins: code inside a transition calls hooks and
    reads parameters through it, never through Flask's app context. ``warnings`` are
    what the move let through but the caller must be told (a refused confirmation):
    the API returns them with the order.
    """

    session: Session
    """The session of the transition's transaction: write with it, never commit it."""
    registry: Registry
    """The running plugins: call hooks and read parameters through it."""
    name: str
    """The move: ``create``, ``submit``, ``approve``, ``confirm``, ``ship``, ``cancel``..."""
    from_status: str | None
    """The order's status before the move (``None`` on creation)."""
    to_status: str | None
    """The status the move leads to."""
    actor: Any = None
    """Who moves the order: a user, a login, or ``None`` for the system (a sweep)."""
    reason: str | None = None
    """Why, when the mover gave a reason (a cancellation, a rejection's comment)."""
    data: dict[str, Any] = field(default_factory=dict)
    """Free-form details of the move, shared by the mover and the hooks."""
    notes: list[tuple[str, bool]] = field(default_factory=list)
    """Timeline lines added with `note`, as ``(message, public)``; written at the end."""
    warnings: list[dict[str, Any]] = field(default_factory=list)
    """What the move let through but the caller must hear of (a refused confirmation)."""

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once this transition has committed; never if it rolls back."""
        after_commit(self.session, callback)

    def note(self, message: str, *, public: bool = False) -> None:
        """Add a line to the order's timeline, written with this transition.

        ``public=True`` shows it to the customer on the status page.
        """
        self.notes.append((message, public))

    @property
    def actor_name(self) -> str | None:
        """The actor as text for records: a user's login, or ``None`` for the system."""
        return getattr(self.actor, "login", None) or (str(self.actor) if self.actor else None)


def after_commit(session: Session, callback: Callable[[], Any]) -> None:
    """Queue ``callback`` to run after ``session``'s current transaction commits.

    It never runs if the transaction rolls back, nor if it was queued inside a savepoint
    that rolls back; a rolled-back savepoint leaves the callbacks queued before it.
    """
    savepoint = session.get_nested_transaction()
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append((savepoint, callback))


def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # SQLAlchemy fires after_commit on RELEASE SAVEPOINT
        return
    callbacks = session.info.pop(_AFTER_COMMIT_KEY, [])
    for _savepoint, callback in callbacks:
        try:
            callback()
        except Exception:  # the transition is committed; a failed e-mail must not undo it
            log.exception("after-commit callback %r failed", callback)


def insert_at_commit(session: Session, table: sa.Table, values: dict[str, Any]) -> None:
    """Insert the row ``values`` into ``table`` when ``session``'s transaction commits.

    The rows a transaction queues for one table are written with one multi-row INSERT,
    in the order they were queued, just before the commit: a row the flushes of the
    transaction would otherwise have written one by one (the outbox's events, each
    flushed by the next query of a hook) costs no statement of its own. Like
    :func:`after_commit`, a row queued inside a savepoint that rolls back is dropped with
    it, and nothing is written when the transaction rolls back. The row is not readable
    in the transaction before it commits: queue only what the transaction never reads.
    """
    savepoint = session.get_nested_transaction()
    session.info.setdefault(_AT_COMMIT_ROWS_KEY, []).append((savepoint, table, values))


def _insert_queued_rows(session: Session) -> None:
    if session.in_nested_transaction():  # fired by RELEASE SAVEPOINT as well
        return
    queued = session.info.pop(_AT_COMMIT_ROWS_KEY, None)
    if not queued:
        return
    by_table: dict[sa.Table, list[dict[str, Any]]] = {}
    for _savepoint, table, values in queued:
        by_table.setdefault(table, []).append(values)
    for table, rows in by_table.items():
        session.execute(table.insert(), rows)


def _drop_after_commit(session: Session, transaction: Any) -> None:
    # Callbacks (and rows) left when the outermost transaction ends were not run by a
    # commit: it rolled back, or the session was closed.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT_KEY, None)
        session.info.pop(_AT_COMMIT_ROWS_KEY, None)


def _inside(savepoint: Any, rolled_back: Any) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


def _drop_savepoint_callbacks(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        return
    for key in (_AFTER_COMMIT_KEY, _AT_COMMIT_ROWS_KEY):
        if key in session.info:
            session.info[key] = [queued for queued in session.info[key]
                                 if not _inside(queued[0], previous_transaction)]


event.listen(Session, "before_commit", _insert_queued_rows)
event.listen(Session, "after_commit", _run_after_commit)
event.listen(Session, "after_transaction_end", _drop_after_commit)
event.listen(Session, "after_soft_rollback", _drop_savepoint_callbacks)


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Run the block as one transaction: commit at the end, roll back on any exception.

    The rolled-back objects are expired, so the caller that reads them again sees the
    database as it was before the block.
    """
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


#: SQLSTATEs of conflicts that running the same transaction again resolves:
#: deadlock_detected and serialization_failure (PostgreSQL).
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_retryable_conflict(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it wraps, is a deadlock or serialization failure.

    Follows :class:`TransitionFailed` (a plugin's hook hit the conflict) and exception
    chaining down to the database driver's error.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(getattr(error, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        if getattr(error, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        error = (error.error if isinstance(error, TransitionFailed)
                 else error.__cause__ or error.__context__)
    return False


def run_atomic(session: Session, body: Callable[[], T], *, attempts: int = 5) -> T:
    """Run ``body()`` as one transaction (like :func:`atomic`) and return its result.

    When the database aborts the transaction because of a deadlock or a serialization
    failure, everything is rolled back and ``body`` runs again, after a short random
    pause, up to ``attempts`` times: such a conflict is never the user's problem. Any
    other exception rolls back and propagates at once. ``body`` must therefore do all its
    work through ``session`` and keep no state between attempts.
    """
    for attempt in range(1, attempts + 1):
        try:
            with atomic(session):
                return body()
        except Exception as exc:
            if attempt == attempts or not is_retryable_conflict(exc):
                raise
            log.info("transaction conflict (attempt %d of %d), running it again: %s",
                     attempt, attempts, exc)
            time.sleep(random.uniform(0.005, 0.02 * attempt))
    raise AssertionError("unreachable")  # pragma: no cover

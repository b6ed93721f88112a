"""Values remembered for the length of one transaction, then forgotten.

Code that reads the same rows several times in one transaction (the replenishment rules
of the products an order reserves, an order's shortage checked on validation and again
for the approval facts) keeps what it read here instead of asking the database again.
A cache never outlives its transaction, nor a savepoint that ends (what was read inside
a rolled-back savepoint may be gone): another process may write meanwhile, and this one
may have rolled back. Code that changes what it cached forgets it itself
(:func:`forget`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "erpkit.transaction_cache"


def transaction_cache(session: Session, name: str) -> dict[Any, Any]:
    """The dictionary ``name`` of ``session``'s current transaction (empty at first)."""
    caches: dict[str, dict[Any, Any]] = session.info.setdefault(_KEY, {})
    found = caches.get(name)
    if found is None:
        found = caches[name] = {}
    return found


def holds(session: Session, name: str) -> bool:
    """Whether the cache ``name`` of ``session`` holds anything."""
    return bool(session.info.get(_KEY, {}).get(name))


def forget(session: Session, name: str | None = None) -> None:
    """Drop the cache ``name`` (every cache when ``None``) of ``session``."""
    if name is None:
        session.info.pop(_KEY, None)
    elif _KEY in session.info:
        session.info[_KEY].pop(name, None)


def _forget_all(session: Session, *_args: Any) -> None:
    session.info.pop(_KEY, None)


def _forget_at_end(session: Session, transaction: Any) -> None:
    # A flush runs in a sub-transaction of its own whose end means nothing here.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_KEY, None)


event.listen(Session, "after_commit", _forget_all)
event.listen(Session, "after_transaction_end", _forget_at_end)

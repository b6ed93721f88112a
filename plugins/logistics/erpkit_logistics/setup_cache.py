"""Logistics' set-up read once per transaction: calendars, carrier services, zones and
transit times.

An order is priced, quoted at entry and promised at confirmation; each asks for the same
calendars, service, zone and transit time, and a calendar brings its closed days. These
rows change when an admin edits them, not per order, so each transaction reads them once
(:mod:`erpkit.transaction_cache`: forgotten at the end of the transaction or of a
savepoint). A change of one of them through the session in the same transaction forgets
the cache at once (:func:`watch_set_up`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from erpkit.transaction_cache import forget, transaction_cache
from erpkit_logistics.models import (
    BusinessCalendar,
    Carrier,
    CarrierService,
    ClosedDay,
    TransitTime,
    Zone,
)

CACHE = "logistics.set_up"
#: What the cache holds rows of; a change to any of them in the transaction forgets it.
WATCHED = (BusinessCalendar, ClosedDay, Carrier, CarrierService, Zone, TransitTime)

T = TypeVar("T")


def cached(session: Session, key: tuple[Any, ...], load: Callable[[], T]) -> T:
    """``load()``, once per transaction of ``session`` for ``key``."""
    cache = transaction_cache(session, CACHE)
    if key not in cache:
        cache[key] = load()
    return cache[key]  # type: ignore[no-any-return]


def _changed(_mapper: Any, _connection: Any, target: Any) -> None:
    session = object_session(target)
    if session is not None:
        forget(session, CACHE)


def watch_set_up() -> None:
    """Forget the cache when the transaction changes what it holds (once per process)."""
    for model in WATCHED:
        for name in ("after_insert", "after_update", "after_delete"):
            if not event.contains(model, name, _changed):
                event.listen(model, name, _changed)

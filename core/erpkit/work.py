"""Work queues: what waits on a person, from every plugin, oldest first.

Each plugin says what waits on the current user through the hook ``erpkit_work_queue``
(orders: drafts to submit, confirmed orders to pick and ship; approvals: steps to
decide), as :class:`WorkItem`\\ s. The core merges them for the console's "My work" page
and ``GET /api/work``. Nothing is stored: a queue is read from the records themselves, so
an order is in its department's queue the moment it is created or moves on.

A queue is read a page at a time: every item has a place in it, its :attr:`WorkItem.key`
(oldest ``waiting_since`` first), and a page is the ``limit`` items after the last one of
the page before. Each plugin is asked for at most ``limit + 1`` items after that key, so
a page costs the same work however long the queue is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.durations import format_duration

if TYPE_CHECKING:
    from erpkit.plugins import Registry

#: How many items a queue shows when the caller names no limit, and the most it shows.
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class WorkKey(NamedTuple):
    """An item's place in a work queue: queues run oldest ``waiting_since`` first, then
    by ``reference``, ``step`` and ``kind`` (so no two items share a place). A page of
    the queue starts after the key of the last item of the page before."""

    waiting_since: datetime
    reference: str
    step: str
    kind: str


@dataclass(frozen=True)
class WorkItem:
    """One thing that waits on someone, as a plugin reports it to ``erpkit_work_queue``.

    ``kind`` says what it is (``order``, ``approval_step``); ``title`` what to do, for
    people (``Pick and ship``); ``reference`` what it is about (an order number); ``url``
    the console page to act on it, or ``None``; ``step`` the step it waits in, whose time
    limit applies (``confirmed_to_shipped``, an approval step's name); ``waiting_since``
    when it started waiting there; ``due_at`` when that step's limit runs out (``None``:
    the step has no limit). Times are timezone-aware; they are kept in UTC.
    """

    kind: str
    title: str
    reference: str
    url: str | None
    step: str
    waiting_since: datetime
    due_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("waiting_since", "due_at"):
            value = getattr(self, name)
            if value is None:
                continue
            if value.tzinfo is None:
                raise ValueError(f"WorkItem.{name} must be timezone-aware: {value!r}")
            object.__setattr__(self, name, value.astimezone(UTC))

    @property
    def key(self) -> WorkKey:
        """The item's place in the queue (see :class:`WorkKey`)."""
        return WorkKey(self.waiting_since, self.reference, self.step, self.kind)

    @property
    def time_left(self) -> timedelta | None:
        """Time left before the step's limit now; negative when overdue, ``None`` when the
        step has no limit."""
        return self.time_left_at(utcnow())

    def time_left_at(self, now: datetime) -> timedelta | None:
        """Time left before the step's limit at ``now``."""
        return None if self.due_at is None else self.due_at - now

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """The item as JSON, its time left counted at ``now``."""
        left = self.time_left_at(now)
        return {
            "kind": self.kind,
            "title": self.title,
            "reference": self.reference,
            "url": self.url,
            "step": self.step,
            "waiting_since": self.waiting_since.isoformat(),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "time_left_seconds": int(left.total_seconds()) if left is not None else None,
            "time_left": describe_time_left(left),
            "overdue": left is not None and left < timedelta(0),
        }


def work_queue(session: Session, user: Any, *, limit: int = DEFAULT_LIMIT,
               after: WorkKey | None = None,
               registry: Registry | None = None) -> list[WorkItem]:
    """What waits on ``user``, from every plugin, oldest first: at most ``limit`` items,
    those after ``after`` (a :class:`WorkKey`; from the start when ``None``).

    Each plugin is asked for at most ``limit`` items too (its oldest after ``after``), so
    the merged queue is the true oldest ``limit`` whatever each plugin holds. Items at or
    before ``after`` are dropped here too, for a plugin that does not take ``after``.
    """
    from erpkit.plugins import registry_of

    limit = max(1, min(limit, MAX_LIMIT + 1))
    hook = (registry or registry_of(session)).hook
    found = hook.erpkit_work_queue(user=user, session=session, limit=limit, after=after)
    items = [item for contributed in found for item in contributed or ()
             if after is None or item.key > after]
    items.sort(key=lambda item: item.key)
    return items[:limit]


def describe_time_left(left: timedelta | None) -> str:
    """``"3h20m left"``, ``"overdue by 1d2h"``, or ``"no limit"``; to the minute."""
    if left is None:
        return "no limit"
    whole_minutes = timedelta(minutes=int(abs(left.total_seconds()) // 60))
    shown = format_duration(whole_minutes) if whole_minutes else "under 1m"
    return f"overdue by {shown}" if left < timedelta(0) else f"{shown} left"


def console_url(endpoint: str, **values: Any) -> str | None:
    """The URL of a console page, or ``None`` when this installation has no such page
    (or when called outside a request, from the command line)."""
    from flask import has_request_context, url_for
    from werkzeug.routing import BuildError

    if not has_request_context():
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None

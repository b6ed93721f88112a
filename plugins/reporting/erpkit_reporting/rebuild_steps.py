"""The timeline part of ``erpkit report rebuild`` in SQL: every order's step durations and
first edit after submission, grouped by the database instead of a Python pass over
millions of events (half the rebuild at a million orders).

The rules are those of :func:`~erpkit_reporting.contributions.step_durations` and
:func:`~erpkit_reporting.contributions.first_edit_after_submission`, written with window
functions over an order's status events in timeline order (``id``):

* a step ends at the first event entering one of its end statuses;
* it started at the first event of the last unbroken run of its start statuses before
  that: the last event before the end that enters a start status after an event that did
  not (or as the order's first event);
* the seconds are ``max(0, whole seconds between the two)``, bucketed by
  :func:`~erpkit_reporting.histogram.bucket_of` itself: a small table of each bucket's
  lowest whole second is computed from it in Python, so the SQL never takes a logarithm
  of its own (floating point that could disagree at a boundary).

The result is a few thousand grouped rows, added to the rollups as the hooks add theirs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting import contributions as c
from erpkit_reporting.histogram import bucket_of

#: Seconds up to which buckets are tabled: more than any signed 64-bit count of seconds.
_MAX_SECONDS = 2**63 - 1


@cache
def bucket_floors() -> tuple[tuple[int, int], ...]:
    """(bucket, its lowest whole second) for every bucket a whole second from 1 up falls
    in, by binary search on :func:`bucket_of` (monotone in the seconds)."""
    floors = []
    low = 1
    while low <= _MAX_SECONDS:
        floors.append((bucket_of(low), low))
        # the first second of a later bucket (small seconds skip buckets: 1 s is in 1, 2 s in 36)
        bucket = bucket_of(low) + 1
        lo, hi = low + 1, _MAX_SECONDS + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if bucket_of(mid) >= bucket:
                hi = mid
            else:
                lo = mid + 1
        low = lo
    return tuple(floors)


_floors_metadata = sa.MetaData()
_floors = sa.Table("reporting_tmp_bucket_floor", _floors_metadata,
                   sa.Column("low", sa.BigInteger, primary_key=True),
                   sa.Column("bucket", sa.Integer, nullable=False),
                   prefixes=["TEMPORARY"])


def _fill_floors(session: Session) -> None:
    connection = session.connection()
    _floors.drop(connection, checkfirst=True)
    _floors.create(connection)
    session.execute(sa.insert(_floors), [{"bucket": b, "low": low} for b, low in bucket_floors()])


def _bucket(seconds: Any) -> Any:
    found = (sa.select(_floors.c.bucket).where(_floors.c.low <= seconds)
             .order_by(_floors.c.low.desc()).limit(1).scalar_subquery())
    return sa.func.coalesce(found, 0)


def _in(column: Any, statuses: frozenset[str]) -> Any:
    return column.in_(sorted(statuses))


def _per_order(session: Session) -> Any:
    """One row per order with status events: its channel, when it was submitted, and for
    each step when it started and ended (NULL if it did not complete)."""
    from erpkit_orders.models import Order, TimelineEvent

    def in_order(function: Any) -> Any:
        return function.over(partition_by=TimelineEvent.order_id, order_by=TimelineEvent.id)

    events = (sa.select(TimelineEvent.order_id, TimelineEvent.to_status.label("status"),
                        TimelineEvent.at, in_order(sa.func.row_number()).label("i"),
                        in_order(sa.func.lag(TimelineEvent.to_status)).label("prev"))
              .where(TimelineEvent.kind == "status", TimelineEvent.to_status.is_not(None))
              .subquery("events"))
    def first_index(condition: Any) -> Any:
        return sa.func.min(sa.case((condition, events.c.i))).over(
            partition_by=events.c.order_id)

    ends = [first_index(_in(events.c.status, ends)).label(f"end_{n}")
            for n, (_, _, ends) in enumerate(c.STEPS)]
    # the event begins a run of the step's start statuses
    run_starts = [sa.case((_in(events.c.status, starts)
                           & (events.c.prev.is_(None) | ~_in(events.c.prev, starts)), 1),
                          else_=0).label(f"run_{n}")
                  for n, (_, starts, _) in enumerate(c.STEPS)]
    submitted = first_index((events.c.status != "") & (events.c.status != "draft"))
    marked = sa.select(events, submitted.label("sub"), *ends, *run_starts).subquery("marked")
    starts = [sa.func.max(sa.case(((marked.c[f"run_{n}"] == 1)
                                   & (marked.c.i < marked.c[f"end_{n}"]), marked.c.i)))
              .over(partition_by=marked.c.order_id).label(f"start_{n}")
              for n in range(len(c.STEPS))]
    located = sa.select(marked, *starts).subquery("located")

    def at_index(index: Any) -> Any:
        return sa.func.max(sa.case((located.c.i == index, located.c.at)))

    columns = [at_index(located.c.sub).label("submitted_at")]
    for n in range(len(c.STEPS)):
        columns += [at_index(located.c[f"start_{n}"]).label(f"started_{n}"),
                    at_index(located.c[f"end_{n}"]).label(f"ended_{n}")]
    return (sa.select(located.c.order_id, sa.func.min(Order.channel).label("channel"), *columns)
            .join(Order, Order.id == located.c.order_id)
            .group_by(located.c.order_id))


_per_order_metadata = sa.MetaData()


def _scratch(session: Session) -> sa.Table:
    """A temporary table of :func:`_per_order`, read once per step."""
    query = _per_order(session)
    names = [column.name for column in query.selected_columns]
    _per_order_metadata.clear()
    at_type = sa.DateTime(timezone=True)
    table = sa.Table("reporting_tmp_order_steps", _per_order_metadata,
                     sa.Column("order_id", sa.Integer, primary_key=True),
                     sa.Column("channel", sa.String(40)),
                     *[sa.Column(name, at_type) for name in names
                       if name not in ("order_id", "channel")],
                     prefixes=["TEMPORARY"])
    connection = session.connection()
    table.drop(connection, checkfirst=True)
    table.create(connection)
    session.execute(sa.insert(table).from_select(names, query))
    return table


def steps_and_edits_sql(session: Session, changes: c.Changes) -> None:
    """Add every order's step durations and first edit after submission to ``changes``,
    grouped in SQL (what :func:`erpkit_reporting.rebuild.steps_and_edits` does in
    Python)."""
    from erpkit_orders.models import TimelineEvent
    from erpkit_reporting.rebuild_sql import _text, day_of, seconds_between

    _fill_floors(session)
    orders = _scratch(session)
    channel = _text(orders.c.channel)
    for n, (step, _, _) in enumerate(c.STEPS):
        started, ended = orders.c[f"started_{n}"], orders.c[f"ended_{n}"]
        raw = seconds_between(session, ended, started)
        seconds = sa.case((raw < 0, 0), else_=raw)
        spans = (sa.select(day_of(session, ended).label("day"), channel.label("channel"),
                           seconds.label("seconds"))
                 .where(started.is_not(None), ended.is_not(None)).subquery("spans"))
        bucketed = sa.select(spans, _bucket(spans.c.seconds).label("bucket")).subquery("b")
        keys = [bucketed.c.day, bucketed.c.channel, bucketed.c.bucket]
        grouped = (sa.select(*keys, sa.func.count(), sa.func.sum(bucketed.c.seconds))
                   .group_by(*keys))
        for row in session.execute(grouped):
            c.add_to(changes, "reporting_step_duration",
                     (_as_date(row[0]), step, row[1], int(row[2])),
                     count=int(row[3]), seconds=int(row[4]))
    first_edit = (sa.select(orders.c.order_id, sa.func.min(channel).label("channel"),
                            sa.func.min(TimelineEvent.at).label("at"))
                  .join(TimelineEvent, TimelineEvent.order_id == orders.c.order_id)
                  .where(TimelineEvent.kind == "edit", orders.c.submitted_at.is_not(None),
                         TimelineEvent.at >= orders.c.submitted_at)
                  .group_by(orders.c.order_id).subquery("first_edit"))
    day = day_of(session, first_edit.c.at)
    for edit_day, edit_channel, count in session.execute(
            sa.select(day, first_edit.c.channel, sa.func.count())
            .group_by(day, first_edit.c.channel)):
        c.add_quality(changes, _as_date(edit_day), edit_channel, c.EDITED, int(count))
    orders.drop(session.connection())
    _floors.drop(session.connection())


def _as_date(value: Any) -> Any:
    # SQLite's date() is text
    if isinstance(value, str):
        from datetime import date
        return date.fromisoformat(value)
    return value

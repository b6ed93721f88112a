"""The rebuild's pass over the timeline (step durations and first edits after submission,
``rebuild.steps_and_edits``) equals what the lifecycle hooks' rule
(``contributions.step_durations``, ``bucket_of``, ``first_edit_after_submission``) gives
for the same timelines, at the edges: zero and negative durations, whole seconds at and
just below a bucket boundary, microseconds, centuries, broken runs of a step's statuses;
and the steps of each path are the ones the rule's definition gives by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from erpkit.db import db
from erpkit_orders.models import Customer, Order, TimelineEvent
from erpkit_reporting import contributions as c
from erpkit_reporting.histogram import bucket_of
from erpkit_reporting.rebuild import steps_and_edits

START = datetime(2025, 3, 30, 23, 59, 59, 999_999, tzinfo=UTC)


def _bucket_floors(count: int) -> list[int]:
    """The lowest whole second of each of the first ``count`` buckets a whole second from
    1 up falls in (small seconds skip buckets: 1 s is in bucket 1, 2 s in 36), found by
    binary search on ``bucket_of``, which grows with the seconds."""
    floors, low = [], 1
    while len(floors) < count:
        floors.append(low)
        wanted, lo, hi = bucket_of(low) + 1, low + 1, 2**63
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if bucket_of(mid) >= wanted else (mid + 1, hi)
        low = lo
    return floors


FLOORS = _bucket_floors(701)


def test_the_floors_are_each_the_first_second_of_their_bucket():
    for low, next_low in pairwise(FLOORS):
        assert bucket_of(low - 1) < bucket_of(low) == bucket_of(next_low - 1) < bucket_of(next_low)


def _durations() -> list[timedelta]:
    """Gaps between status events: the edges of the histogram and of whole seconds."""
    gaps = [timedelta(0), timedelta(microseconds=1), timedelta(microseconds=999_999),
            timedelta(seconds=1), timedelta(seconds=-5), timedelta(microseconds=-1),
            timedelta(days=365 * 150), timedelta(days=3, microseconds=500_001)]
    for low in FLOORS[:60:7] + FLOORS[300:320:5] + FLOORS[700:701]:
        gaps += [timedelta(seconds=low), timedelta(seconds=low) - timedelta(microseconds=1),
                 timedelta(seconds=low - 1)]
    return gaps


PATHS = (
    ("draft", "submitted", "approved", "confirmed", "shipped", "delivered", "closed"),
    ("draft", "submitted", "pending_approval", "submitted", "approved", "confirmed",
     "partially_shipped", "shipped", "delivered", "returned"),
    # a run of start statuses broken by another status: the step starts at the last run
    ("draft", "submitted", "draft", "submitted", "pending_approval", "approved"),
    ("submitted", "approved", "confirmed", "cancelled"),
    ("draft", "submitted", "rejected"),
    ("draft",),
    ("draft", "", "submitted", "approved"),
)


@pytest.fixture
def timelines(app):
    """Orders written with their timelines as an import writes them (no hook fires), and
    the changes the hooks' rule makes of each timeline."""
    expected = c.new_changes()
    with app.app_context():
        session = db.session
        customer = Customer(name="Edge", email="edge@example.com", country="DE", code="E1")
        session.add(customer)
        session.flush()
        gaps = _durations()
        number = 0
        for path in PATHS:
            for gap_index in range(0, len(gaps), 3):
                number += 1
                channel = ("web", "phone", "")[number % 3]
                order = Order(number=f"E{number:05d}", channel=channel, customer_id=customer.id,
                              currency="EUR", status=path[-1] or "draft", ordered_at=START,
                              created_at=START, imported_as_history=True)
                session.add(order)
                session.flush()
                at, events = START, []
                for position, status in enumerate(path):
                    if position:
                        at += gaps[(gap_index + position) % len(gaps)]
                    events.append((status, at))
                edits = [START + gaps[(gap_index + k) % len(gaps)] for k in (1, 2, 5)]
                kinds = [("status", status, when) for status, when in events]
                kinds += [("edit", None, when) for when in edits]
                for kind, status, when in kinds:
                    session.add(TimelineEvent(order_id=order.id, at=when, kind=kind,
                                              to_status=status, message=""))
                edited = c.first_edit_after_submission(events, edits)
                if edited is not None:
                    c.add_quality(expected, edited.date(), channel, c.EDITED)
                for step, _index, ended_at, seconds in c.step_durations(events):
                    c.add_step(expected, channel, step, ended_at, seconds)
        session.commit()
        yield session, expected


def _plain(changes: c.Changes) -> dict:
    return {table: {key: dict(values) for key, values in rows.items()}
            for table, rows in changes.items() if rows}


def test_the_rebuilds_pass_equals_the_hooks_rule_at_the_edges(timelines):
    session, expected = timelines
    got = c.new_changes()
    assert steps_and_edits(session, got) == len(PATHS) * len(range(0, len(_durations()), 3))
    assert _plain(got) == _plain(expected)
    buckets = {key[3] for key in expected["reporting_step_duration"]}
    assert 0 in buckets and len(buckets) > 20  # the edges were reached
    assert expected["reporting_daily_quality"]



#: The steps of each path of PATHS by the definition, worked out by hand: (step, index of
#: the event that started it, index of the one that ended it).
PLANS = {
    PATHS[0]: (("created", 0, 1), ("submitted", 1, 2), ("approved", 2, 3), ("confirmed", 3, 4),
               ("shipped", 4, 5), ("delivered", 5, 6)),
    # back to submitted from pending approval: one unbroken run of the step's statuses
    PATHS[1]: (("created", 0, 1), ("submitted", 1, 4), ("approved", 4, 5),
               ("confirmed", 5, 6), ("shipped", 6, 8), ("delivered", 8, 9)),
    # the draft in between breaks the run: the step started at the second submission
    PATHS[2]: (("created", 0, 1), ("submitted", 3, 5)),
    # no draft before the submission: the created step is unknown; never shipped
    PATHS[3]: (("submitted", 0, 1), ("approved", 1, 2)),
    PATHS[4]: (("created", 0, 1),),
    PATHS[5]: (),
    # an event without a status does not break a run that has not begun
    PATHS[6]: (("created", 0, 2), ("submitted", 2, 3)),
}


@pytest.mark.parametrize("path", PATHS)
def test_the_steps_of_a_path_are_those_of_the_definition(path):
    assert c.step_plan(path) == PLANS[path]

"""The rebuild's step durations and first edits, grouped in SQL, equal what the lifecycle
hooks' rule (``contributions.step_durations``, ``bucket_of``, ``first_edit_after_submission``)
gives for the same timelines, at the edges: zero and negative durations, whole seconds at
and just below a bucket boundary, microseconds, centuries, broken runs of a step's statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from erpkit.db import db
from erpkit_orders.models import Customer, Order, TimelineEvent
from erpkit_reporting import contributions as c
from erpkit_reporting.histogram import bucket_of
from erpkit_reporting.rebuild_steps import bucket_floors, steps_and_edits_sql

START = datetime(2025, 3, 30, 23, 59, 59, 999_999, tzinfo=UTC)
FLOORS = [low for _, low in bucket_floors()]


def test_each_bucket_floor_is_the_first_second_bucket_of_puts_in_that_bucket():
    floors = bucket_floors()
    for (bucket, low), (next_bucket, next_low) in pairwise(floors):
        assert bucket_of(low) == bucket < next_bucket == bucket_of(next_low)
        assert bucket_of(next_low - 1) == bucket
        if next_low - low > 2:
            assert bucket_of((low + next_low) // 2) == bucket
    assert FLOORS[0] == 1 and FLOORS[-1] <= 2**63 - 1 < 1.02 * FLOORS[-1] + 1


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


def test_the_sql_steps_and_edits_equal_the_hooks_rule_at_the_edges(timelines):
    session, expected = timelines
    got = c.new_changes()
    steps_and_edits_sql(session, got)
    assert _plain(got) == _plain(expected)
    buckets = {key[3] for key in expected["reporting_step_duration"]}
    assert 0 in buckets and len(buckets) > 20  # the edges were reached
    assert expected["reporting_daily_quality"]


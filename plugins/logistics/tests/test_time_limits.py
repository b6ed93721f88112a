"""A late shipment alerts whoever holds it and escalates, exactly once, through the
core's step time limits."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from erpkit import steps
from erpkit.db import utcnow
from erpkit.models import User
from erpkit.plugins import current_registry
from erpkit.service_models import Notification, StepBreach
from erpkit_orders.models import TimelineEvent


def notes_for(session, login):
    return session.scalars(sa.select(Notification.kind).join(User, User.id ==
                                                             Notification.user_id)
                           .where(User.login == login)).all()


def test_a_late_shipment_is_escalated_exactly_once(world, users, session):
    users.create("picker", "warehouse")
    users.create("lena", "logistics")
    world.product("A", weight="1")
    world.set("logistics.handling_days", 10)  # a promise far off: not at risk in this test
    order = world.order({"A": 1})
    shipment = world.shipment(order)  # created, so held, by "picker"
    registry = current_registry()
    session.commit()
    assert steps.sweep(session, registry, utcnow() + timedelta(hours=3)).handled == []
    late_at = utcnow() + timedelta(hours=5)  # the pick limit is 4 hours
    first = steps.sweep(session, registry, late_at)
    assert [(late.declaration, late.subject_id) for late in first.handled] == [
        ("logistics.pick", shipment.id)]
    again = steps.sweep(session, registry, late_at + timedelta(hours=1))
    assert again.handled == []  # still late, already handled
    assert session.scalar(sa.select(sa.func.count()).select_from(StepBreach)) == 1
    assert notes_for(session, "picker") == ["alert"]
    assert notes_for(session, "lena") == ["escalation"]
    timeline = session.scalars(sa.select(TimelineEvent.message).where(
        TimelineEvent.order_id == order.id, TimelineEvent.source == "logistics")).all()
    assert len(timeline) == 1 and "escalated to role logistics" in timeline[0]


def test_a_shipment_that_moved_on_is_not_late_for_the_step_it_left(world, session):
    from erpkit_logistics import shipments

    world.product("A", weight="1")
    world.set("logistics.handling_days", 10)  # a promise far off: not at risk in this test
    shipment = world.shipment(world.order({"A": 1}))
    shipments.pick(session, shipment.id, actor="picker")
    session.commit()
    report = steps.sweep(session, current_registry(), utcnow() + timedelta(hours=5))
    # picked: the pick step is over; the pack step (2 hours) is late instead
    assert [late.declaration for late in report.handled] == ["logistics.pack"]

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


def test_walking_the_overdue_list_a_row_at_a_time_visits_the_whole_list_in_order(
        world, session):
    """Every step the modules declare reads a page of its own (``list_late_page``): a
    page of the overdue list reads at most a page of each, and pages end to end are
    the whole list."""
    from erpkit_logistics import shipments

    world.product("A", weight="1")
    orders = [world.order({"A": 1}) for _ in range(3)]  # confirmed, each with a promise
    world.shipment(orders[0])  # to pick
    picked = world.shipment(orders[1])
    shipments.pick(session, picked.id, actor="picker")  # to pack
    session.commit()
    registry = current_registry()
    later = utcnow() + timedelta(days=30)  # everything is late by then

    whole = steps.overdue(session, registry, later)
    walked, after = [], None
    while len(walked) <= len(whole):
        page = steps.overdue_page(session, registry, later, limit=2, after=after)
        walked += page[:1]
        if len(page) < 2:
            break
        after = steps.OverdueCursor.of(page[0])

    def key(late):
        return late.declaration, late.subject_id, late.due_at

    assert [key(late) for late in walked] == [key(late) for late in whole]
    assert {late.declaration for late in whole} >= {
        "orders.confirmed_to_shipped", "logistics.promise", "logistics.pick",
        "logistics.pack"}
    assert [d.name for d in steps.declarations(registry) if d.list_late_page is None] == []

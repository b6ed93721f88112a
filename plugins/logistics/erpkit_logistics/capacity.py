"""Capable-to-promise: booking a work centre's daily capacity for made-to-order lines.

Capacity is booked the way inventory books stock: one atomic conditional
``UPDATE ... SET booked = booked + :n WHERE booked + :n <= capacity`` per day, whose row
count says whether it fitted. SQLite ignores ``FOR UPDATE``; this statement is correct
on both backends, so capacity already promised is never promised twice, however many
confirmations run at once. A line larger than a day's free capacity takes the free part
of each working day until it is covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from erpkit import TransitionRefused
from erpkit_logistics.calendars import Calendar
from erpkit_logistics.models import CapacityBooking, CapacityDay, WorkCentre

#: How far ahead a line may look for free capacity before it is refused.
HORIZON_WORKING_DAYS = 366


@dataclass(frozen=True)
class Slot:
    """The working days a line's production takes capacity on."""

    first_day: date
    last_day: date


def booked_on(session: Session, work_centre_id: int, day: date) -> Decimal:
    booked = session.scalar(sa.select(CapacityDay.booked).where(
        CapacityDay.work_centre_id == work_centre_id, CapacityDay.day == day))
    return Decimal(booked or 0)


def _ensure_day(session: Session, work_centre_id: int, day: date) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(CapacityDay).values(work_centre_id=work_centre_id, day=day,
                                               booked=0)
                    .on_conflict_do_nothing(index_elements=["work_centre_id", "day"]))


def _take(session: Session, centre: WorkCentre, day: date, amount: Decimal) -> bool:
    """Book ``amount`` on ``day`` if it still fits: the atomic conditional update."""
    capacity = (sa.select(WorkCentre.daily_capacity).where(WorkCentre.id == centre.id)
                .scalar_subquery())
    result = session.execute(
        sa.update(CapacityDay)
        .where(CapacityDay.work_centre_id == centre.id, CapacityDay.day == day,
               CapacityDay.booked + amount <= capacity)
        .values(booked=CapacityDay.booked + amount)
        .execution_options(synchronize_session=False))
    return getattr(result, "rowcount", 0) == 1


def plan(session: Session, centre: WorkCentre, calendar: Calendar, earliest: date,
         amount: Decimal, *, book: bool, order_id: int | None = None,
         order_line_id: int | None = None) -> Slot:
    """The working days from ``earliest`` on which ``amount`` fits; booked when ``book``
    (for ``order_id``/``order_line_id``), only looked at otherwise (a quote)."""
    day = calendar.working_day_on_or_after(earliest)
    first: date | None = None
    remaining = Decimal(amount)
    # What is booked from ``day`` on, in one statement; a booking checks it again.
    booked = {booked_day: Decimal(n) for booked_day, n in session.execute(
        sa.select(CapacityDay.day, CapacityDay.booked).where(
            CapacityDay.work_centre_id == centre.id, CapacityDay.day >= day))}
    for _attempt in range(HORIZON_WORKING_DAYS * 4):
        free = Decimal(centre.daily_capacity) - booked.get(day, Decimal(0))
        take = min(remaining, free)
        if take > 0:
            if book:
                _ensure_day(session, centre.id, day)
                if not _take(session, centre, day, take):
                    # Someone booked this day meanwhile: read it again.
                    booked[day] = booked_on(session, centre.id, day)
                    continue
                session.add(CapacityBooking(order_id=order_id, order_line_id=order_line_id,
                                            work_centre_id=centre.id, day=day, quantity=take))
            first = first or day
            remaining -= take
            if remaining <= 0:
                return Slot(first, day)
        day = calendar.next_working_day(day)
    raise TransitionRefused(
        f"work centre {centre.code} has no free capacity for {amount} within "
        f"{HORIZON_WORKING_DAYS} working days. Fix: raise its daily capacity or move "
        "other orders.", code="logistics_no_capacity")


def release_order(session: Session, order_id: int) -> None:
    """Give back the capacity an order holds (cancelled, or promised again)."""
    bookings = list(session.scalars(sa.select(CapacityBooking)
                                    .where(CapacityBooking.order_id == order_id)))
    for booking in bookings:
        session.execute(sa.update(CapacityDay)
                        .where(CapacityDay.work_centre_id == booking.work_centre_id,
                               CapacityDay.day == booking.day)
                        .values(booked=CapacityDay.booked - booking.quantity)
                        .execution_options(synchronize_session=False))
        session.delete(booking)
    if bookings:
        session.flush()

"""Business calendars: which days a warehouse, a carrier or a work centre works.

A :class:`Calendar` wraps a ``holidays`` object: the country's (and subdivision's) public
holidays from the ``holidays`` package, the days admins closed added to it, and the
calendar's weekdays off as its ``weekend``. Counting working days is the library's
(``is_working_day``, ``get_nth_working_day``); nothing here adds days by hand.

Without a configured calendar, the owner works Monday to Friday, 08:00 to 17:00 UTC,
with no public holidays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import holidays
import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from erpkit import setup_cache as shared
from erpkit_logistics.models import CALENDARS, BusinessCalendar
from erpkit_logistics.setup_cache import cached

# Calendars are set-up every promise reads, and building one (a country's holidays) costs
# more than reading it: kept by the process while nobody changes a calendar or a closed
# day (CALENDARS, erpkit.setup_cache). A kept calendar's holidays object still adds the
# public holidays of a year the first time a day of it is asked: that is the library's own
# cache, and adding the same holidays twice from two threads is harmless.

ALL_WEEKDAYS = frozenset(range(7))


@dataclass(frozen=True)
class Calendar:
    """Working days and hours of one owner (``scope`` and ``subject``)."""

    scope: str
    subject: str
    days_off: holidays.HolidayBase
    opens: time
    closes: time
    configured: bool

    def is_working_day(self, day: date) -> bool:
        return bool(self.days_off.is_working_day(day))

    def working_day_on_or_after(self, day: date) -> date:
        """``day`` when it is a working day, else the next one."""
        return self.days_off.get_nth_working_day(day, 0)

    def add_working_days(self, day: date, count: int) -> date:
        """The working day ``count`` working days after ``day`` (before, when negative);
        ``count`` 0 gives ``day`` or the next working day."""
        return self.days_off.get_nth_working_day(day, count)

    def next_working_day(self, day: date) -> date:
        return self.days_off.get_nth_working_day(day, 1)

    def why_not_working(self, day: date) -> str:
        """What makes ``day`` a day off: a holiday's name, or the weekday."""
        name = self.days_off.get(day)
        return str(name) if name else day.strftime("%A")

    def start_day(self, now: datetime) -> date:
        """The first day work arriving at ``now`` can be done: today before closing
        time on a working day, else the next working day."""
        today = now.date()
        if self.is_working_day(today) and now.time() < self.closes:
            return today
        return self.next_working_day(today)

    @property
    def name(self) -> str:
        return f"{self.scope} {self.subject}"


def _days_off(row: BusinessCalendar | None) -> holidays.HolidayBase:
    if row is not None and row.country:
        days_off = holidays.country_holidays(row.country, subdiv=row.subdivision or None)
    else:
        days_off = holidays.HolidayBase()
    working = ({int(c) for c in row.working_days if c.isdigit()} if row is not None
               else {0, 1, 2, 3, 4})
    days_off.weekend = set(ALL_WEEKDAYS - working)
    for closed in row.closed_days if row is not None else ():
        days_off[closed.day] = closed.reason or "closed"
    return days_off


def _rows(session: Session) -> dict[tuple[str, str], BusinessCalendar]:
    """Every calendar with its closed days: few rows, read in one statement."""
    return {(row.scope, row.subject): row for row in session.scalars(
        sa.select(BusinessCalendar).options(joinedload(BusinessCalendar.closed_days)))
        .unique()}


def _build(scope: str, subject: str, row: BusinessCalendar | None) -> Calendar:
    return Calendar(scope=scope, subject=subject, days_off=_days_off(row),
                    opens=row.opens if row is not None else time(8, 0),
                    closes=row.closes if row is not None else time(17, 0),
                    configured=row is not None)


def calendar_for(session: Session, scope: str, subject: str) -> Calendar:
    """The calendar of the warehouse, carrier or work centre named ``subject`` (kept by the
    process while no calendar changes)."""
    def build() -> Calendar:
        rows = cached(session, ("calendar rows",), lambda: _rows(session))
        return _build(scope, subject, rows.get((scope, subject)))

    return shared.cached(session, CALENDARS, (scope, subject), build)

"""Periods reports group by: day, week (ISO, starting Monday), month, quarter, year."""

from __future__ import annotations

from datetime import date, timedelta

PERIODS = ("day", "week", "month", "quarter", "year")


def period_start(day: date, by: str) -> date:
    """The first day of the period of kind ``by`` that contains ``day``."""
    if by == "day":
        return day
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    if by == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if by == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown period {by!r}; use one of {', '.join(PERIODS)}")


def next_period(start: date, by: str) -> date:
    """The first day of the period after the one starting on ``start``."""
    if by == "day":
        return start + timedelta(days=1)
    if by == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[by]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def label(start: date, by: str) -> str:
    """How a period is named in rows: 2026-03-02, 2026-W10, 2026-03, 2026-Q1, 2026."""
    if by == "day":
        return start.isoformat()
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{start.year}-{start.month:02d}"
    if by == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def periods_between(first: date, last: date, by: str) -> list[date]:
    """The starts of every period that overlaps ``first`` .. ``last``, in order."""
    starts = []
    current = period_start(first, by)
    while current <= last:
        starts.append(current)
        current = next_period(current, by)
    return starts


def periods_count(first: date, last: date, by: str) -> int:
    """How many periods of kind ``by`` overlap ``first`` .. ``last`` (without listing them)."""
    if by in ("day", "week"):
        days = (period_start(last, by) - period_start(first, by)).days
        return days // (7 if by == "week" else 1) + 1
    months_per_period = {"month": 1, "quarter": 3, "year": 12}[by]

    def index(day: date) -> int:
        return (day.year * 12 + day.month - 1) // months_per_period

    return index(last) - index(first) + 1


def previous_range(first: date, last: date) -> tuple[date, date]:
    """The range of the same length just before ``first`` .. ``last``."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)

"""Working-day arithmetic on an agency's calendar: its country's working week and holidays."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkingCalendar:
    working_week: frozenset[int]  # ISO weekdays
    holidays: frozenset[dt.date]

    def is_working_day(self, day: dt.date) -> bool:
        return day.isoweekday() in self.working_week and day not in self.holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start``; the start day itself does not count.

        A case received on Friday with a 1-day deadline is due on Monday, and one received on a
        holiday starts counting from the next working day, as agencies count their deadlines.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        if not self.working_week:
            raise ValueError("a calendar needs at least one working day a week")
        day = start
        remaining = days
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def calendar_for(working_week: Iterable[int], holidays: Iterable[dt.date]) -> WorkingCalendar:
    return WorkingCalendar(frozenset(working_week), frozenset(holidays))

"""Calendar-month arithmetic for due dates.

A monthly plan's i-th due date is the first due date plus i calendar months, clamped to
the end of a shorter month: 31 Jan → 28 (or 29) Feb → 31 Mar. Each date is computed from
the first one, never from the previous one, so one short month cannot drag every later
date to the 28th.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

__all__ = ["add_months", "monthly_dates"]

# Days per month in a common year; February is corrected for leap years below. A table
# beats calendar.monthrange here: it runs for every installment of every quote.
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(start: date, months: int) -> date:
    """`start` plus `months` calendar months (may be negative), clamped to month end."""
    years, month_index = divmod(start.month - 1 + months, 12)
    year = start.year + years
    month = month_index + 1
    day = start.day
    if day > 28:
        day = min(day, _days_in_month(year, month))
    return date(year, month, day)


@lru_cache(maxsize=512)
def monthly_dates(first: date, count: int) -> tuple[date, ...]:
    """`count` monthly due dates starting at `first`: first, first + 1 month, ...

    Memoised: the result depends only on its two immutable arguments, and on one day
    every offer shares the same first due date.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    return tuple(add_months(first, i) for i in range(count))

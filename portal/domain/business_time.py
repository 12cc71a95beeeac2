"""Business time: how long something has waited, counting working days only.

Kept simple on purpose: a business day is a weekday (Monday to Friday) in the bank's
time zone; Saturdays and Sundays do not count, public holidays do (the portal keeps no
holiday calendar). So a request made on Friday at 17:00 has waited 7 business hours at
midnight, still 7 on Sunday evening, and 1 business day on Monday at 17:00. A service
level of N business days is reached after N × 24 such hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

__all__ = ["BUSINESS_DAY", "business_elapsed", "whole_business_days"]

BUSINESS_DAY = timedelta(hours=24)
_SATURDAY = 5


def _weekday_part(start: datetime, end: datetime) -> timedelta:
    """The part of [start, end) that falls on weekdays; both local, naive, end >= start."""
    total = timedelta(0)
    cursor = start
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time())
        stop = min(midnight, end)
        if cursor.weekday() < _SATURDAY:
            total += stop - cursor
        cursor = stop
    return total


def business_elapsed(start: datetime, end: datetime, zone: tzinfo) -> timedelta:
    """The time from ``start`` to ``end`` (aware datetimes) that fell on weekdays in
    ``zone``; zero when ``end`` is not after ``start``.

    Counted on the wall clock: a day is 24 hours even when the zone changes its clocks.
    """
    if end <= start:
        return timedelta(0)
    local_start = start.astimezone(zone).replace(tzinfo=None)
    local_end = end.astimezone(zone).replace(tzinfo=None)
    # Whole weeks hold five business days each: count only the remainder day by day.
    weeks = max(0, (local_end - local_start).days // 7 - 1)
    shifted = local_start + timedelta(weeks=weeks)
    return weeks * 5 * BUSINESS_DAY + _weekday_part(shifted, local_end)


def whole_business_days(waited: timedelta) -> int:
    """How many whole business days ``waited`` (business time) holds."""
    return waited // BUSINESS_DAY

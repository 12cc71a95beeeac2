"""Business time for the approvals' service level: weekdays count, weekends do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from portal.domain.business_time import BUSINESS_DAY, business_elapsed, whole_business_days

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time in the week of Monday 2026-11-30 (day 0 = Monday)."""
    return datetime(2026, 11, 30, hour, minute, tzinfo=SHANGHAI) + timedelta(days=day)


def test_hours_on_one_weekday_count_in_full():
    assert business_elapsed(at(1, 9), at(1, 12, 30), SHANGHAI) == timedelta(hours=3, minutes=30)


def test_a_weekend_does_not_count():
    # Friday 17:00 to Monday 17:00: 7 hours on Friday, 17 on Monday.
    assert business_elapsed(at(4, 17), at(7, 17), SHANGHAI) == BUSINESS_DAY
    # Friday 17:00 to Sunday 18:00: only Friday's 7 hours.
    assert business_elapsed(at(4, 17), at(6, 18), SHANGHAI) == timedelta(hours=7)


def test_a_request_made_at_the_weekend_starts_counting_on_monday():
    assert business_elapsed(at(5, 10), at(7, 9), SHANGHAI) == timedelta(hours=9)


def test_whole_weeks_hold_five_business_days():
    assert business_elapsed(at(0, 9), at(21, 9), SHANGHAI) == 15 * BUSINESS_DAY
    assert whole_business_days(business_elapsed(at(2, 9), at(16, 8), SHANGHAI)) == 9


def test_days_are_the_zones_days_not_utc():
    # 2026-12-04 20:00 UTC is Saturday 04:00 in Shanghai: after Friday midnight nothing counts.
    start = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # Friday 20:00 in Shanghai
    assert business_elapsed(start, datetime(2026, 12, 4, 20, 0, tzinfo=UTC), SHANGHAI) == timedelta(hours=4)


def test_nothing_has_elapsed_before_the_start():
    assert business_elapsed(at(2, 9), at(1, 9), SHANGHAI) == timedelta(0)


@given(
    start=st.integers(min_value=0, max_value=60 * 24 * 60),
    length=st.integers(min_value=0, max_value=60 * 24 * 40),
)
def test_the_fast_count_agrees_with_counting_minute_by_minute_hours(start: int, length: int):
    begin = at(0, 0) + timedelta(minutes=start)
    end = begin + timedelta(minutes=length)
    # The slow way: hour by hour (plus the remainder), asking each hour's weekday.
    slow = timedelta(0)
    cursor = begin
    while cursor < end:
        step = min(end, cursor + timedelta(hours=1) - timedelta(minutes=cursor.minute)) - cursor
        if cursor.weekday() < 5:
            slow += step
        cursor += step
    assert business_elapsed(begin, end, SHANGHAI) == slow

"""When plan and promise reminders go: a cadence per tier, policy data (``Tier.reminders``).

A reminder is sent ``days_before`` days before a due date, on the due date itself when
``on_due_date``, and ``days_after`` days after it while the payment is still unpaid.
0 means no reminder at that point. A policy stored before the cadence was policy reads
the defaults below (3 days before, on the day, 3 days after).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["MAX_REMINDER_DAYS", "ReminderCadence", "due_dates_to_remind", "offsets"]

# Bounds a policy may set: up to two weeks either side of a due date. Further away a
# reminder is no longer about this payment.
MAX_REMINDER_DAYS = 14


@dataclass(frozen=True, slots=True)
class ReminderCadence:
    """When to remind a cardholder of a payment due (see the module notes).

    days_before  days before the due date (0: none)
    on_due_date  on the due date itself
    days_after   days after the due date, while still unpaid (0: none)
    """

    days_before: int = 3
    on_due_date: bool = True
    days_after: int = 3


def offsets(cadence: ReminderCadence) -> tuple[int, ...]:
    """Days from the due date on which a reminder goes: negative before, 0 on, positive after."""
    found = []
    if cadence.days_before > 0:
        found.append(-cadence.days_before)
    if cadence.on_due_date:
        found.append(0)
    if cadence.days_after > 0:
        found.append(cadence.days_after)
    return tuple(found)


def due_dates_to_remind(day: date, cadence: ReminderCadence) -> dict[date, int]:
    """The due dates a reminder goes for on ``day``, each with its offset (see ``offsets``)."""
    return {day - timedelta(days=offset): offset for offset in offsets(cadence)}

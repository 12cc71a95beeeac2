"""The approvals queue as a supervisor works it: oldest first, how long each request has
waited in business time, and which have waited past the deployment's service level
(``APPROVAL_SERVICE_DAYS`` business days; see ``portal.domain.business_time``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from flask_babel import format_number, format_timedelta, ngettext

from portal.care.queries import Approval, pending_approvals
from portal.domain.business_time import BUSINESS_DAY, business_elapsed, whole_business_days
from portal.staff.access import current_staff


@dataclass(frozen=True)
class WaitingRequest:
    """A request for approval, how long it has waited (business time), and whether that
    is past the service level."""

    approval: Approval
    waited: timedelta
    late: bool


def approval_queue(now: datetime, zone: tzinfo, service_days: int) -> list[WaitingRequest]:
    """Every request waiting for approval, the one that has waited longest first."""
    limit = service_days * BUSINESS_DAY
    queue = []
    for approval in pending_approvals():  # oldest first (created_at, id)
        waited = business_elapsed(approval.plan.created_at, now, zone)
        queue.append(WaitingRequest(approval, waited, waited >= limit))
    return queue


def waiting_text(waited: timedelta) -> str:
    """ "25 minutes", "3 hours" under a business day; "2 business days" from one on."""
    days = whole_business_days(waited)
    if days:
        return ngettext("%(n)s business day", "%(n)s business days", days, n=format_number(days))
    # Whole hours (or minutes under one), counted down, not rounded: 23 h 40 min reads
    # "23 hours", never "24 hours" while the request is not yet a business day old.
    # threshold=1: 21 hours read as "21 hours", not rounded up to "1 day".
    unit = timedelta(hours=1) if waited >= timedelta(hours=1) else timedelta(minutes=1)
    return format_timedelta(max(waited // unit * unit, timedelta(minutes=1)), granularity="minute", threshold=1)


def service_level_text(days: int) -> str:
    return ngettext("%(n)s business day", "%(n)s business days", days, n=format_number(days))


def pending_approvals_count() -> int | None:
    """How many requests wait for approval, as the staff loader read it for a member of
    staff who may approve them (None for anyone else: the navigation shows no count)."""
    count = getattr(current_staff(), "pending_approvals", None)
    return None if count is None else int(count)

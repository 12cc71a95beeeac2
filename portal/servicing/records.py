"""What the servicing run writes with: its actor, its lock, its case-file rows."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from portal.audit.actors import Actor, ActorType
from portal.cases.models import CaseEventKind

# The run acts as the system, named so the trail tells its verdicts from other system work.
SERVICING = Actor(ActorType.SYSTEM, "servicing")
# Held per chunk: two runs started at once take turns, and the second finds nothing left to judge.
RUN_LOCK = "servicing:run"


def day_start(day: date, time_zone: str) -> datetime:
    """The first instant of ``day`` in ``time_zone``.

    A verdict's instant (a plan's ``ended_at``, its case-file entry): the same however
    often or late the day is run, and its local date is the run date, the day the
    cool-down after a broken plan counts from (``portal.offers.adapter``)."""
    return datetime.combine(day, time.min, ZoneInfo(time_zone))


def case_row(account_id: int, kind: CaseEventKind, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A case-file row for a batch insert: what ``portal.cases.service.add_event`` adds one at a time."""
    return {
        "account_id": account_id,
        "kind": kind.value,
        "data": data,
        "actor_type": SERVICING.type.value,
        "actor_id": SERVICING.id,
        "created_at": at,
    }

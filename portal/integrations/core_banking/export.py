"""The daily plan-events file, for core systems that prefer files to webhooks.

Every plan event that occurred on one UTC day, ordered by time then id, as CSV (a header
line, then one line per event) or JSON Lines (one webhook body per line). The same day
always gives the same bytes. The layout is documented in ``docs/plan-events-export.md``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from sqlalchemy import select

from portal.extensions import db
from portal.integrations.core_banking.models import PlanEvent, PlanEventKind
from portal.integrations.core_banking.plan_events import webhook_body

FORMATS = ("csv", "jsonl")
COLUMNS = (
    "event_id",
    "occurred_at",
    "event",
    "plan_id",
    "account_reference",
    "agreement_reference",
    "plan_type",
    "currency",
    "installment_number",
    "amount",
    "data",
)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day ``day``: from its midnight (included) to the next (excluded)."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def events_of(day: date, chunk: int = 1000) -> Iterator[PlanEvent]:
    start, end = day_bounds(day)
    query = (
        select(PlanEvent)
        .where(PlanEvent.occurred_at >= start, PlanEvent.occurred_at < end)
        .order_by(PlanEvent.occurred_at, PlanEvent.id)
        .execution_options(yield_per=chunk)
    )
    yield from db.session.execute(query).scalars()


def utc_text(moment: datetime) -> str:
    """``2026-11-30T08:15:02.123456Z``: UTC, microseconds only when there are some."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _amount(event: PlanEvent) -> str:
    data: dict[str, Any] = event.data
    if event.event == PlanEventKind.INSTALLMENT_PAID:
        return str(data.get("amount") or "")
    if event.event == PlanEventKind.ACCEPTED:
        return str(data.get("total_repaid") or "")
    return str(data.get("amount") or "")


def csv_row(event: PlanEvent) -> list[str]:
    data: dict[str, Any] = event.data
    return [
        event.public_id,
        utc_text(event.occurred_at),
        event.event,
        str(event.plan_id),
        data.get("account_reference") or "",
        data.get("agreement_reference") or "",
        data.get("plan_type") or "",
        data.get("currency") or "",
        "" if event.installment_number is None else str(event.installment_number),
        _amount(event),
        json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    ]


def write_export(out: IO[str], day: date, fmt: str) -> int:
    """Write the day's events to ``out`` in ``fmt``; return how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    count = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(COLUMNS)
    for event in events_of(day):
        if writer is not None:
            writer.writerow(csv_row(event))
        else:
            out.write(webhook_body(event.public_id, event.event, event.occurred_at, event.data) + "\n")
        count += 1
    return count

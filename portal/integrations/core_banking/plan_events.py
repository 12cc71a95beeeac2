"""Plan events for the core banking system: recorded, then sent as signed webhooks.

Other code calls :func:`emit_plan_event` (one plan, in a request) or
:func:`emit_plan_events` (many plans, set-based: a chunk of the daily servicing run).
Both FLUSH in the caller's unit of work and never commit: an event exists exactly when
the change it announces does. Each event is a ``plan_events`` row; when
``CORE_WEBHOOK_URL`` is configured it also queues one outbox row on the ``webhook``
channel, which the outbox worker signs and POSTs with its usual retries, ending
``failed`` (the dead letter staff can requeue) after the last attempt. Webhooks are not
collection messages: no contact hours, caps or opt-outs apply to them.

An event is told once: a second ``accepted`` (or ``broken``, …) for a plan, or a second
``installment_paid`` for the same installment, is skipped. So an installment that a
reversal un-pays and a later payment pays again is announced paid only the first time;
the core system, which sent the reversal, knows of it already, and the plan's own end
(``completed`` or ``broken``) is announced when the daily run decides it.

The event's ``data`` carries references and amounts only (decimal strings): the plan id,
the account's and the agreement's references, plan type and currency, plus what the
caller adds (installment number, amounts, a reason). Never a name, phone number, e-mail
address or card number.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from flask import current_app
from sqlalchemy import Table, select

from portal.accounts.models import CardAccount
from portal.agreements.models import Agreement
from portal.audit.actions import Action
from portal.audit.service import SYSTEM, record_many
from portal.bulk import among, bulk_insert
from portal.db_types import utcnow
from portal.domain.money import currency_places
from portal.extensions import db
from portal.integrations.core_banking.models import PlanEvent, PlanEventKind
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.plans.models import Plan

WEBHOOK_CHANNEL = "webhook"
WEBHOOK_KIND = "plan_event"
_EVENTS = cast(Table, PlanEvent.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)


@dataclass(frozen=True)
class NewPlanEvent:
    """One event to record: for ``INSTALLMENT_PAID`` the installment's number is required."""

    plan_id: int
    kind: PlanEventKind
    data: Mapping[str, Any] | None = None
    at: datetime | None = None
    installment: int | None = None


def new_event_id() -> str:
    """A public event id: ``evt_`` and 24 random hex digits."""
    return f"evt_{secrets.token_hex(12)}"


def _plain(value: Any, places: int) -> Any:
    """JSON-ready: decimals as strings with the currency's minor-unit places ("245.00",
    whatever scale the column keeps; never floats), dates as ISO 8601."""
    if isinstance(value, Decimal):
        shown = value.quantize(Decimal(1).scaleb(-places))
        return str(shown if shown == value else value.normalize())
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, places) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, places) for v in value]
    if isinstance(value, float):
        raise TypeError("plan event amounts are Decimal, never float")
    return value


def _utc(moment: datetime) -> datetime:
    """Events are kept and told in UTC; a naive time is refused (whose clock would it be?)."""
    if moment.tzinfo is None:
        raise ValueError("a plan event's time must be timezone-aware")
    return moment.astimezone(UTC)


def webhook_body(public_id: str, kind: str, occurred_at: datetime, data: Mapping[str, Any]) -> str:
    """The webhook's JSON body (Standard Webhooks payload shape: type, timestamp, data),
    compact with sorted keys: the same event always has the same bytes."""
    payload = {"id": public_id, "type": f"plan.{kind}", "timestamp": occurred_at.isoformat(), "data": data}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def emit_plan_event(
    plan: Plan,
    kind: PlanEventKind,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    *,
    installment: int | None = None,
) -> None:
    """Record one event of ``plan`` (and queue its webhook when one is configured). Flushes."""
    db.session.flush()  # the plan (and its agreement) must have ids
    emit_plan_events([NewPlanEvent(plan.id, kind, data, at, installment)])


def _context(plan_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What every event of each plan says: its account and agreement references."""
    rows = db.session.execute(
        select(Plan.id, Plan.account_id, Plan.plan_type, Plan.currency, CardAccount.reference, Agreement.reference)
        .join(CardAccount, CardAccount.id == Plan.account_id)
        .outerjoin(Agreement, Agreement.plan_id == Plan.id)
        .where(among(Plan.id, plan_ids))
    )
    return {
        plan_id: {
            "account_id": account_id,
            "base": {
                "plan_id": plan_id,
                "account_reference": account_reference,
                "agreement_reference": agreement_reference,
                "plan_type": plan_type,
                "currency": currency,
            },
        }
        for plan_id, account_id, plan_type, currency, account_reference, agreement_reference in rows
    }


def _told(plan_ids: list[int]) -> set[tuple[int, str, int | None]]:
    rows = db.session.execute(
        select(PlanEvent.plan_id, PlanEvent.event, PlanEvent.installment_number).where(
            among(PlanEvent.plan_id, plan_ids)
        )
    )
    return {(plan_id, event, number) for plan_id, event, number in rows}


def emit_plan_events(events: Sequence[NewPlanEvent]) -> int:
    """Record many events at once (a few statements, whatever their number) and queue
    their webhooks when one is configured. Events already told are skipped. FLUSHES in
    the caller's unit of work; returns how many were recorded."""
    if not events:
        return 0
    db.session.flush()
    plan_ids = sorted({e.plan_id for e in events})
    context = _context(plan_ids)
    told = _told(plan_ids)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for event in events:
        kind = PlanEventKind(event.kind)
        number = event.installment if kind is PlanEventKind.INSTALLMENT_PAID else None
        if kind is PlanEventKind.INSTALLMENT_PAID and number is None:
            raise ValueError("an installment_paid event names its installment")
        key = (event.plan_id, str(kind), number)
        if key in told:
            continue
        told.add(key)
        plan = context.get(event.plan_id)
        if plan is None:
            raise ValueError(f"no plan {event.plan_id}")
        data = {**plan["base"], **({"installment": number} if number is not None else {}), **(event.data or {})}
        rows.append(
            {
                "public_id": new_event_id(),
                "plan_id": event.plan_id,
                "account_id": plan["account_id"],
                "event": str(kind),
                "installment_number": number,
                "data": _plain(data, currency_places(data["currency"])),
                "occurred_at": _utc(event.at) if event.at else now,
                "created_at": now,
            }
        )
    bulk_insert(_EVENTS, rows)
    url = current_app.config.get("CORE_WEBHOOK_URL")
    if rows and url:
        _queue_webhooks(rows, url, now)
    return len(rows)


def _queue_webhooks(events: list[dict[str, Any]], url: str, now: datetime) -> None:
    public_ids = [e["public_id"] for e in events]
    ids = dict(
        db.session.execute(select(PlanEvent.public_id, PlanEvent.id).where(among(PlanEvent.public_id, public_ids)))
        .tuples()
        .all()
    )
    rows = [
        {
            "account_id": None,  # to the bank's own system, not to a cardholder: no contact rules
            "plan_event_id": ids[e["public_id"]],
            "kind": WEBHOOK_KIND,
            "channel": WEBHOOK_CHANNEL,
            "recipient": url,
            "locale": "en",
            "subject": None,
            "body": webhook_body(e["public_id"], e["event"], e["occurred_at"], e["data"]),
            "status": str(OutboxStatus.QUEUED),
            "collection": False,
            "created_at": now,
            "send_after": now,
            "attempts": 0,
        }
        for e in events
    ]
    bulk_insert(_OUTBOX, rows)
    queued = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.plan_event_id).where(among(OutboxMessage.plan_event_id, ids.values()))
    )
    record_many(
        SYSTEM,
        [
            (Action.Message.QUEUED, ("outbox_message", message_id), {"kind": WEBHOOK_KIND, "channel": WEBHOOK_CHANNEL})
            for message_id, _event_id in queued
        ],
    )

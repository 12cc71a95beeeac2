"""Dead letters: webhooks to the core system that the outbox gave up on.

A webhook row that failed its last attempt stays ``failed`` in the outbox. Staff see it
(event, plan and references, attempts, the reason: never personal data) and may requeue
it once the core system is back: it goes out again with the same ``webhook-id``, so a
receiver that did get an earlier attempt drops the repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.db_types import utcnow
from portal.extensions import db
from portal.integrations.core_banking.models import PlanEvent
from portal.integrations.core_banking.plan_events import WEBHOOK_CHANNEL
from portal.notifications.models import OutboxMessage, OutboxStatus

PAGE_SIZE = 200


class RequeueError(Exception):
    """The row is not a dead-lettered webhook (any more); ``code`` is for the view."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class DeadLetter:
    message_id: int
    event_id: str
    event: str
    plan_id: int
    account_reference: str | None
    agreement_reference: str | None
    installment: int | None
    occurred_at: datetime
    attempts: int
    last_error: str | None


def dead_letters(limit: int = PAGE_SIZE) -> list[DeadLetter]:
    """The newest dead-lettered webhooks first."""
    rows = db.session.execute(
        select(OutboxMessage, PlanEvent)
        .join(PlanEvent, PlanEvent.id == OutboxMessage.plan_event_id)
        .where(OutboxMessage.channel == WEBHOOK_CHANNEL, OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).tuples()
    return [
        DeadLetter(
            message_id=message.id,
            event_id=event.public_id,
            event=event.event,
            plan_id=event.plan_id,
            account_reference=event.data.get("account_reference"),
            agreement_reference=event.data.get("agreement_reference"),
            installment=event.installment_number,
            occurred_at=event.occurred_at,
            attempts=message.attempts,
            last_error=message.last_error,
        )
        for message, event in rows
    ]


def requeue(message_id: int, actor: Actor) -> OutboxMessage:
    """Put one dead-lettered webhook back in the queue, attempts reset, audited. Flushes."""
    query = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    message = db.session.execute(query).scalar_one_or_none()
    if message is None or message.channel != WEBHOOK_CHANNEL:
        raise RequeueError("not_found")
    if message.status != OutboxStatus.FAILED:
        raise RequeueError("not_dead")  # requeued already (a second tab, a double click)
    before = {"status": message.status, "attempts": message.attempts, "last_error": message.last_error}
    message.status, message.attempts, message.send_after = OutboxStatus.QUEUED, 0, utcnow()
    message.held_reason = message.last_error = message.claimed_by = message.claimed_at = None
    db.session.flush()
    record(actor, Action.Outbox.REQUEUED, ("outbox_message", message.id), before=before, after={"status": "queued"})
    return message

"""Collection messages the daily run queues in bulk: reminders, and the message after a
broken plan.

The run decides thousands of messages a day, so it does not queue them one by one
(``notifications.service.queue_collection_message``, a dozen statements each): it reads
the accounts and their other messages once per chunk (``accounts_with_holders``,
``notifications.service.counted_times``), lets the contact rules decide each message (``rules.decide``), builds
rows of one shape (``outbox_row``) and inserts them at once (``insert_messages``): a row
whose ``dedupe_key`` another run stored meanwhile is skipped, each queued one audited,
each blocked one put on its case file, as the one-by-one path does. Flushes only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import SYSTEM, record_many
from portal.cases.models import CaseEvent, CaseEventKind
from portal.extensions import db
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.notifications.rules import BLOCK, HOLD, Decision

__all__ = ["accounts_with_holders", "insert_messages", "outbox_row"]


def outbox_row(
    account: CardAccount,
    kind: str,
    channel: str,
    subject: str | None,
    body: str,
    decision: Decision,
    key: str,
    now: datetime,
) -> dict[str, Any]:
    """One collection message the daily run queues in bulk, as the rules decided it."""
    blocked = decision.action == BLOCK
    return {
        "account_id": account.id,
        "kind": kind,
        "channel": channel,
        "recipient": account.cardholder.phone if channel == "sms" else account.cardholder.email,
        "locale": account.cardholder.locale,
        "subject": subject,
        "body": body,
        "status": OutboxStatus.BLOCKED if blocked else OutboxStatus.QUEUED,
        "collection": True,
        "created_at": now,
        "send_after": decision.send_at,
        "held_reason": decision.reason if decision.action == HOLD else None,
        "blocked_reason": (decision.reason or "blocked") if blocked else None,
        "attempts": 0,
        "dedupe_key": key,
    }


def accounts_with_holders(ids: set[int]) -> dict[int, CardAccount]:
    query = select(CardAccount).options(joinedload(CardAccount.cardholder)).where(CardAccount.id.in_(ids))
    return {a.id: a for a in db.session.execute(query).scalars()}


def insert_messages(rows: list[dict[str, Any]]) -> int:
    """Insert the rows, skipping any whose key another run stored meanwhile; audit each,
    and put each blocked one on its case file. Returns how many were queued to send."""
    if not rows:
        return 0
    table: Table = OutboxMessage.__table__  # type: ignore[assignment]
    dialect = db.session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        make(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id, table.c.dedupe_key)
    )
    ids = dict((key, i) for i, key in db.session.execute(statement, rows).all())
    stored = [(ids[r["dedupe_key"]], r) for r in rows if r["dedupe_key"] in ids]
    queued = [(i, r) for i, r in stored if r["status"] == OutboxStatus.QUEUED]
    blocked = [(i, r) for i, r in stored if r["status"] == OutboxStatus.BLOCKED]
    events = [
        (
            Action.Message.QUEUED,
            ("outbox_message", i),
            {
                "kind": r["kind"],
                "channel": r["channel"],
                "send_after": r["send_after"].isoformat(),
                "held_reason": r["held_reason"],
            },
        )
        for i, r in queued
    ]
    events += [(Action.Message.BLOCKED, ("outbox_message", i), {"reason": r["blocked_reason"]}) for i, r in blocked]
    record_many(SYSTEM, events)
    if blocked:
        db.session.execute(
            insert(CaseEvent),
            [
                {
                    "account_id": r["account_id"],
                    "kind": CaseEventKind.MESSAGE_BLOCKED.value,
                    "data": {"message": i, "kind": r["kind"], "channel": r["channel"], "reason": r["blocked_reason"]},
                    "actor_type": SYSTEM.type.value,
                    "actor_id": SYSTEM.id,
                }
                for i, r in blocked
            ],
        )
    return len(queued)

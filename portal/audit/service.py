"""Writing and checking the audit trail.

Every state change calls :func:`record` inside the same transaction as the change, so
the event and the change commit or roll back together. Events form a hash chain: each
holds the SHA-256 of its own canonical content and of the previous event, so a changed,
deleted or reordered row breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from portal.audit.models import AuditEvent
from portal.db_types import utcnow
from portal.extensions import db

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acts: a cardholder (account id), a staff member, the system or anonymous."""

    type: str
    id: str | None = None
    ip: str | None = None


SYSTEM = Actor("system")


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    actor: Actor,
    action: str,
    obj: tuple[str, Any] | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # Serialise chain appends across connections; released at commit or rollback.
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    last = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    event = AuditEvent(
        occurred_at=at or utcnow(),
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        object_type=obj[0] if obj else None,
        object_id=str(obj[1]) if obj else None,
        before=before,
        after=after,
        ip=actor.ip,
        prev_hash=last or GENESIS,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    reason: str


def verify_chain() -> ChainProblem | None:
    """Walk the whole chain in id order; return the first broken event, or None."""
    previous = GENESIS
    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
    for event in rows:
        if event.prev_hash != previous:
            return ChainProblem(event.id, "previous hash does not match: an event before it was deleted, changed or reordered")
        if event_hash(event) != event.hash:
            return ChainProblem(event.id, "content does not match its hash: the event was changed")
        previous = event.hash
    return None

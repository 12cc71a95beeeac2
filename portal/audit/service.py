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


def lock_chain() -> None:
    """Take the chain-append lock for the rest of the transaction (PostgreSQL only).

    :func:`record` takes it itself. A service that also locks other rows calls this
    FIRST, so every transaction takes the locks in the same order and none deadlock.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        # Serialise chain appends across connections; released at commit or rollback.
        db.session.execute(text("SELECT pg_advisory_xact_lock(727274)"))


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
    lock_chain()
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
        prev_hash=last_hash(),
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    """The first event where the chain breaks.

    code: ``changed`` (its content no longer matches its hash), ``out_of_order`` (it
    follows another event than the one stored before it, e.g. ids swapped or a row
    inserted) or ``deleted`` (the event it follows is gone, or was changed and re-hashed).
    """

    event_id: int
    reason: str
    code: str = "changed"


# Columns only: streaming plain rows keeps memory flat and skips the identity map.
_COLUMNS = AuditEvent.__table__.c


def verify_chain(batch: int = 2000) -> ChainProblem | None:
    """Walk the whole chain in id order, streaming; return the first broken event, or None.

    A deleted last event cannot be told from a chain that simply ends there: compare the
    newest hash with one kept elsewhere (see ``portal audit verify``) to catch that.
    """
    previous, previous_id = GENESIS, None
    query = select(*_COLUMNS).order_by(_COLUMNS.id).execution_options(yield_per=batch)
    result = db.session.execute(query)
    try:
        for event in result:
            if event_hash(event) != event.hash:
                return ChainProblem(event.id, f"event {event.id} was changed: its content does not match its hash",
                                    "changed")
            if event.prev_hash != previous:
                broken = event
                break
            previous, previous_id = event.hash, event.id
        else:
            return None
    finally:
        result.close()  # ends the server-side cursor when we stop early
    return _break_at(broken, previous_id)


def _break_at(event: Any, previous_id: int | None) -> ChainProblem:
    """Say why ``event`` does not follow the event stored before it."""
    linked = db.session.execute(select(_COLUMNS.id).where(_COLUMNS.hash == event.prev_hash)).scalar()
    after = f"event {previous_id}" if previous_id is not None else "the start of the chain"
    if linked is not None or event.prev_hash == GENESIS:
        follows = f"event {linked}" if linked is not None else "the start of the chain"
        return ChainProblem(event.id, f"event {event.id} is out of order: it was written after {follows}, "
                            f"but is stored after {after}", "out_of_order")
    return ChainProblem(event.id, f"the event written before event {event.id} is missing (deleted, or changed "
                        f"and re-hashed); it is stored after {after}", "deleted")


def last_hash() -> str:
    """The newest event's hash: keep it outside the database to detect a deleted tail."""
    return db.session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar() or GENESIS

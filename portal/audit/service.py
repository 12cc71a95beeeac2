"""Writing and checking the audit trail.

Every state change calls :func:`record` inside the same transaction as the change, so
the event and the change commit or roll back together. Events form a hash chain: each
holds the HMAC-SHA-256, under ``PORTAL_AUDIT_KEY``, of its own canonical content and of
the previous event's hash, so a changed, deleted or reordered row breaks the chain at
that point. The key is not in the database: someone who can only write to the database
cannot re-hash a changed event and everything after it. The newest event is sealed in
``audit_head`` with the same key, so a deleted tail is caught too.

Events written before the chain was keyed (``chain_version`` 1) keep their plain
SHA-256 hashes and still verify as such, but only before the first keyed event: a plain
event after a keyed one is a downgrade and breaks the chain. The migration that keyed
the chain sealed the head over those old events, so a rewrite of them is caught as well.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from flask import current_app
from sqlalchemy import Table, select, text, update

from portal.audit.models import CHAIN_KEYED, CHAIN_PLAIN, AuditEvent, AuditHead
from portal.bulk import bulk_insert
from portal.db_types import rowcount, utcnow
from portal.extensions import db

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acts: a cardholder (account id), a staff member, the system or anonymous."""

    type: str
    id: str | None = None
    ip: str | None = None


SYSTEM = Actor("system")


def _canonical(event: Any, version: int) -> bytes:
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
    if version != CHAIN_PLAIN:
        payload["chain_version"] = version
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def audit_key() -> bytes:
    """The chain key (``PORTAL_AUDIT_KEY``), from the app configuration."""
    return str(current_app.config["AUDIT_KEY"]).encode()


def event_hash(event: Any, key: bytes | None = None) -> str:
    """The event's hash for its chain version: HMAC-SHA-256 (keyed) or plain SHA-256 (old)."""
    version = event.chain_version or CHAIN_KEYED
    if version == CHAIN_PLAIN:
        return hashlib.sha256(_canonical(event, version)).hexdigest()
    return hmac.new(key or audit_key(), _canonical(event, version), hashlib.sha256).hexdigest()


def head_mac(event_id: int, hash_: str, key: bytes | None = None) -> str:
    """The seal of the newest event: only the key's holder can write a valid one."""
    return hmac.new(key or audit_key(), f"audit-head:{event_id}:{hash_}".encode(), hashlib.sha256).hexdigest()


def _seal(event: AuditEvent) -> None:
    """Move the sealed head to ``event``. A missing head is created only for the very
    first event: for a non-empty chain it means someone deleted it, and it stays missing
    so that ``portal audit verify`` keeps saying so."""
    values = {"event_id": event.id, "event_hash": event.hash, "mac": head_mac(event.id, event.hash)}
    moved = rowcount(
        db.session.execute(
            update(AuditHead).where(AuditHead.id == 1).values(**values).execution_options(synchronize_session=False)
        )
    )
    if not moved and event.prev_hash == GENESIS:
        db.session.add(AuditHead(id=1, **values))
        db.session.flush()


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
        chain_version=CHAIN_KEYED,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    _seal(event)
    return event


@dataclass(frozen=True)
class ChainProblem:
    """The first event where the chain breaks.

    code: ``changed`` (its content no longer matches its hash), ``out_of_order`` (it
    follows another event than the one stored before it, e.g. ids swapped or a row
    inserted), ``deleted`` (the event it follows is gone, or was changed and re-hashed;
    or the tail after it is gone) or ``unsealed`` (the keyed head record is missing).
    """

    event_id: int
    reason: str
    code: str = "changed"


# Columns only: streaming plain rows keeps memory flat and skips the identity map.
_COLUMNS = AuditEvent.__table__.c


def verify_chain(batch: int = 2000) -> ChainProblem | None:
    """Walk the whole chain in id order, streaming; return the first broken event, or None.

    Beyond each event's hash and link, the chain must end exactly at the sealed head:
    a deleted tail, or a chain rewritten and re-hashed without the key, does not.
    """
    key = audit_key()
    previous, previous_id, keyed = GENESIS, None, False
    query = select(*_COLUMNS).order_by(_COLUMNS.id).execution_options(yield_per=batch)
    result = db.session.execute(query)
    try:
        for event in result:
            if event.chain_version == CHAIN_PLAIN and keyed:
                return ChainProblem(
                    event.id,
                    f"event {event.id} has a plain hash after keyed events: it was rewritten without the audit key",
                    "changed",
                )
            if event_hash(event, key) != event.hash:
                return ChainProblem(
                    event.id, f"event {event.id} was changed: its content does not match its hash", "changed"
                )
            if event.prev_hash != previous:
                broken = event
                break
            previous, previous_id = event.hash, event.id
            keyed = keyed or event.chain_version == CHAIN_KEYED
        else:
            return _check_head(previous_id, previous, key)
    finally:
        result.close()  # ends the server-side cursor when we stop early
    return _break_at(broken, previous_id)


def _check_head(last_id: int | None, last: str, key: bytes) -> ChainProblem | None:
    """Does the chain end where the sealed head says it does?"""
    head = db.session.get(AuditHead, 1)
    if head is None:
        if last_id is None:
            return None
        return ChainProblem(
            last_id, f"the sealed head record is missing: nothing shows the chain ends at event {last_id}", "unsealed"
        )
    if not hmac.compare_digest(head.mac, head_mac(head.event_id, head.event_hash, key)):
        return ChainProblem(head.event_id, "the head record was not sealed with the audit key", "changed")
    if last_id is None or head.event_id > last_id:
        after = f"event {last_id}" if last_id is not None else "the start of the chain"
        return ChainProblem(
            head.event_id,
            f"events after {after} up to event {head.event_id} are missing (the tail was deleted)",
            "deleted",
        )
    if head.event_id < last_id:
        return ChainProblem(
            last_id, f"events after the sealed event {head.event_id} were added without the audit key", "out_of_order"
        )
    if not hmac.compare_digest(head.event_hash, last):
        return ChainProblem(
            last_id,
            f"event {last_id} is not the event that was sealed: the chain was rewritten "
            "and re-hashed without the audit key",
            "changed",
        )
    return None


def _break_at(event: Any, previous_id: int | None) -> ChainProblem:
    """Say why ``event`` does not follow the event stored before it."""
    linked = db.session.execute(select(_COLUMNS.id).where(_COLUMNS.hash == event.prev_hash)).scalar()
    after = f"event {previous_id}" if previous_id is not None else "the start of the chain"
    if linked is not None or event.prev_hash == GENESIS:
        follows = f"event {linked}" if linked is not None else "the start of the chain"
        return ChainProblem(
            event.id,
            f"event {event.id} is out of order: it was written after {follows}, but is stored after {after}",
            "out_of_order",
        )
    return ChainProblem(
        event.id,
        f"the event written before event {event.id} is missing (deleted, or changed "
        f"and re-hashed); it is stored after {after}",
        "deleted",
    )


def last_hash() -> str:
    """The newest event's hash (``portal audit verify --known`` can still check it)."""
    return db.session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar() or GENESIS


def record_many(
    actor: Actor,
    events: Sequence[tuple[str, tuple[str, Any], dict[str, Any] | None]],
    *,
    at: datetime | None = None,
) -> int:
    """Add many events (action, object, after) to the current transaction at once.

    The same chain as :func:`record`, hashed in Python and inserted in one batch, with
    one chain lock and one seal: a batch job (a statement import) audits every row it
    writes without a round trip per event. Returns how many were written.
    """
    if not events:
        return 0
    lock_chain()
    when = at or utcnow()
    previous = start = last_hash()
    key = audit_key()
    rows: list[dict[str, Any]] = []
    for action, obj, after in events:
        row: dict[str, Any] = {
            "occurred_at": when,
            "actor_type": actor.type,
            "actor_id": actor.id,
            "action": action,
            "object_type": obj[0],
            "object_id": str(obj[1]),
            "before": None,
            "after": after,
            "ip": actor.ip,
            "prev_hash": previous,
            "chain_version": CHAIN_KEYED,
        }
        row["hash"] = previous = event_hash(SimpleNamespace(**row), key)
        rows.append(row)
    bulk_insert(cast(Table, AuditEvent.__table__), rows)  # COPY on PostgreSQL
    if start == GENESIS:  # the chain's very first event creates the sealed head
        _seal(db.session.execute(select(AuditEvent).where(AuditEvent.hash == rows[0]["hash"])).scalar_one())
    _seal(db.session.execute(select(AuditEvent).where(AuditEvent.hash == previous)).scalar_one())
    return len(rows)

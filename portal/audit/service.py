"""Writing the audit trail.

Every state change calls :func:`record` inside the same transaction as the change, so
the event and the change commit or roll back together. Recording takes no lock and
reads nothing: the event carries the keyed MAC (``PORTAL_AUDIT_KEY``) of its own
content, so a change to it is caught from the start, and the sealer
(:mod:`portal.audit.sealing`) links it into the hash chain right after the commit. The
chain and its sealed head catch a changed, deleted or reordered event, or a cut tail;
:mod:`portal.audit.verification` checks them (``flask --app wsgi portal audit verify``).

The names below from those modules are re-exported: this module is the audit trail's
front door for the rest of the portal.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table

from portal.audit.actions import AuditAction
from portal.audit.actors import SYSTEM, Actor, ActorType
from portal.audit.hashing import GENESIS, _canonical, audit_key, content_mac, event_hash, head_mac
from portal.audit.models import CHAIN_SEALED, AuditEvent
from portal.audit.sealing import SealRefused, note_recorded, seal_pending
from portal.audit.verification import ChainProblem, last_hash, verify_chain
from portal.bulk import bulk_insert
from portal.db_types import utcnow
from portal.extensions import db

# Actor, ActorType and SYSTEM live in portal.audit.actors; callers may keep importing them here.
__all__ = [
    "GENESIS",
    "SYSTEM",
    "Actor",
    "ActorType",
    "ChainProblem",
    "SealRefused",
    "_canonical",
    "audit_key",
    "event_hash",
    "head_mac",
    "last_hash",
    "record",
    "record_many",
    "record_row",
    "seal_pending",
    "verify_chain",
]


def _content(
    actor: Actor,
    action: AuditAction,
    obj: tuple[str, Any] | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> dict[str, Any]:
    """A new event's columns before its MAC: one shape for :func:`record` and :func:`record_many`."""
    if not isinstance(action, AuditAction):
        raise TypeError(f"unregistered audit action {action!r}: add it to portal.audit.actions")
    return {
        "occurred_at": at,
        "actor_type": actor.type.value,
        "actor_id": actor.id,
        "action": action.value,
        "object_type": obj[0] if obj else None,
        "object_id": str(obj[1]) if obj else None,
        "before": before,
        "after": after,
        "ip": actor.ip,
        "chain_version": CHAIN_SEALED,
        "nonce": secrets.token_hex(16),
    }


def record(
    actor: Actor,
    action: AuditAction,
    obj: tuple[str, Any] | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits).

    One INSERT, no lock: concurrent audited transactions do not wait for each other.
    The event is pending (no chain position) until the sealer runs after the commit.
    ``action`` is a member of the registry (``portal.audit.actions``); any other string is
    refused, so the trail holds only actions someone can look up.
    """
    session = db.session
    event = AuditEvent(**_content(actor, action, obj, before, after, at or utcnow()))
    event.content_mac = content_mac(event)
    session.add(event)
    session.flush()
    note_recorded(session())
    return event


_INSERT = cast(Table, AuditEvent.__table__).insert()


def _row(
    actor: Actor,
    action: AuditAction,
    obj: tuple[str, Any] | None,
    after: dict[str, Any] | None,
    when: datetime,
    key: bytes | None = None,
) -> dict[str, Any]:
    """An event's columns with its content MAC, ready to insert."""
    row = _content(actor, action, obj, None, after, when)
    row["content_mac"] = content_mac(SimpleNamespace(**row), key)
    return row


def record_row(
    actor: Actor,
    action: AuditAction,
    obj: tuple[str, Any] | None = None,
    *,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """The event :func:`record` writes, as one plain INSERT with no ORM object behind it.

    For the events of reading a page (a case file viewed, a search): the same columns,
    content MAC and transaction as :func:`record`, at a fraction of an ORM flush's cost,
    for callers that do not need the event back. A transaction that recorded only these
    is sealed at most once a second per process (``portal.audit.sealing``).
    """
    db.session.execute(_INSERT, _row(actor, action, obj, after, at or utcnow()))
    note_recorded(db.session(), read=True)


def record_many(
    actor: Actor,
    events: Sequence[tuple[AuditAction, tuple[str, Any], dict[str, Any] | None]],
    *,
    at: datetime | None = None,
) -> int:
    """Add many events (action, object, after) to the current transaction at once.

    The same events as :func:`record` writes, each with its own content MAC, inserted in
    one batch (COPY on PostgreSQL): a batch job such as a statement import audits every
    row it writes without a round trip per event. The sealer chains them after the
    commit. Returns how many were written.
    """
    if not events:
        return 0
    when = at or utcnow()
    key = audit_key()
    rows: list[dict[str, Any]] = []
    for action, obj, after in events:
        rows.append(_row(actor, action, obj, after, when, key))
    bulk_insert(cast(Table, AuditEvent.__table__), rows)
    note_recorded(db.session())
    return len(rows)

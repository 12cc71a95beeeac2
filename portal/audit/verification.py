"""Checking the audit trail: every event, then the chain, then its sealed head.

Two streaming passes. The first, in id order, checks each event on its own: its hash
(versions 1 and 2), its content MAC (pending version 3 events) or its link (sealed
version 3 events: the link binds its position and id, so a renumbered or moved event
shows here); then one query looks for a version 3 event copied into a second row. The
second, in chain order (``position``), checks that each event follows
the one before it, that old events keep their id order and that versions never go
back, and that the chain ends exactly at the keyed head record.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from portal.audit.hashing import GENESIS, audit_key, content_mac, event_hash, head_mac, link_hash
from portal.audit.models import CHAIN_PLAIN, CHAIN_SEALED, AuditEvent, AuditHead
from portal.extensions import db


@dataclass(frozen=True)
class ChainProblem:
    """The first event where the chain breaks.

    code: ``changed`` (its content no longer matches its hash or MAC), ``out_of_order``
    (it follows another event than the one stored before it, e.g. ids swapped or a row
    inserted), ``deleted`` (the event it follows is gone, or was changed and re-hashed;
    or the tail after it is gone) or ``unsealed`` (the keyed head record is missing).
    """

    event_id: int
    reason: str
    code: str = "changed"


# Columns only: streaming plain rows keeps memory flat and skips the identity map.
_COLUMNS = AuditEvent.__table__.c


def verify_chain(batch: int = 2000) -> ChainProblem | None:
    """Check every event and the whole chain, streaming; return the first problem, or None.

    Pending events (not sealed yet) are checked by their content MAC; they are not an
    error. Beyond each link, the chain must end exactly at the sealed head: a deleted
    tail, or a chain rewritten and re-hashed without the key, does not.
    """
    key = audit_key()
    return _check_events(key, batch) or _check_copies() or _check_chain(key, batch)


def _stream(query: Any, batch: int) -> Any:
    return db.session.execute(query.execution_options(yield_per=batch))


def _check_events(key: bytes, batch: int) -> ChainProblem | None:
    """Each event on its own, in id order."""
    previous_id, keyed = None, False
    result = _stream(select(*_COLUMNS).order_by(_COLUMNS.id), batch)
    try:
        for event in result:
            if event.chain_version == CHAIN_PLAIN and keyed:
                return ChainProblem(
                    event.id,
                    f"event {event.id} has a plain hash after keyed events: it was rewritten without the audit key",
                    "changed",
                )
            problem = _check_event(event, key, previous_id)
            if problem is not None:
                return problem
            previous_id, keyed = event.id, keyed or event.chain_version != CHAIN_PLAIN
    finally:
        result.close()  # ends the server-side cursor when we stop early
    return None


def _check_event(event: Any, key: bytes, previous_id: int | None) -> ChainProblem | None:
    changed = ChainProblem(event.id, f"event {event.id} was changed: its content does not match its hash", "changed")
    if event.chain_version != CHAIN_SEALED:
        return changed if event.hash is None or event_hash(event, key) != event.hash else None
    mac = content_mac(event, key)
    if event.position is None:  # pending: only its content MAC so far
        if not hmac.compare_digest(mac, event.content_mac or ""):
            return ChainProblem(
                event.id, f"event {event.id} was changed: its content does not match its MAC (not sealed yet)"
            )
        return None
    if hmac.compare_digest(link_hash(event.position, event.id, event.prev_hash, mac, key), event.hash or ""):
        return None
    if not hmac.compare_digest(mac, event.content_mac or ""):
        return changed
    # Its content is intact, but it no longer sits where it was sealed (id or link changed).
    return _break_at(event, previous_id)


def _check_copies() -> ChainProblem | None:
    """A version 3 event copied into another row (a replayed event) has a valid MAC, but
    the nonce inside it makes every genuine MAC unique. Not left to the unique constraint:
    whoever can write rows may drop it."""
    copied = (
        select(_COLUMNS.content_mac)
        .where(_COLUMNS.content_mac.is_not(None))
        .group_by(_COLUMNS.content_mac)
        .having(func.count() > 1)
        .limit(1)
    )
    mac = db.session.execute(copied).scalar()
    if mac is None:
        return None
    first, *copies = db.session.execute(
        select(_COLUMNS.id).where(_COLUMNS.content_mac == mac).order_by(_COLUMNS.id)
    ).scalars()
    return ChainProblem(
        copies[0],
        f"event {copies[0]} is a copy of event {first}: it was inserted without the audit key",
        "out_of_order",
    )


def _check_chain(key: bytes, batch: int) -> ChainProblem | None:
    """The links, in chain order, then the head."""
    previous, previous_id, version, old_id = GENESIS, None, CHAIN_PLAIN, None
    columns = (_COLUMNS.id, _COLUMNS.chain_version, _COLUMNS.prev_hash, _COLUMNS.hash)
    result = _stream(select(*columns).where(_COLUMNS.position.is_not(None)).order_by(_COLUMNS.position), batch)
    try:
        for event in result:
            if event.prev_hash != previous:
                return _break_at(event, previous_id)
            if event.chain_version < version:
                return ChainProblem(
                    event.id,
                    f"event {event.id} has an older kind of hash than the event before it: "
                    "it was rewritten without the audit key",
                    "changed",
                )
            if event.chain_version != CHAIN_SEALED:
                # Old events were chained in id order: a smaller id later in the chain was renumbered.
                if old_id is not None and event.id < old_id:
                    return ChainProblem(
                        event.id,
                        f"event {event.id} is out of order: it was written after event {old_id}, but has a smaller id",
                        "out_of_order",
                    )
                old_id = event.id
            previous, previous_id, version = event.hash, event.id, event.chain_version
    finally:
        result.close()
    return _check_head(previous_id, previous, key)


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
    if head.event_id == last_id:
        if hmac.compare_digest(head.event_hash, last):
            return None
        return ChainProblem(
            last_id,
            f"event {last_id} is not the event that was sealed: the chain was rewritten "
            "and re-hashed without the audit key",
            "changed",
        )
    sealed = db.session.execute(select(_COLUMNS.position).where(_COLUMNS.id == head.event_id)).first()
    if sealed is None:
        after = f"event {last_id}" if last_id is not None else "the start of the chain"
        return ChainProblem(
            head.event_id,
            f"events after {after} up to event {head.event_id} are missing (the tail was deleted)",
            "deleted",
        )
    assert last_id is not None  # the head's event exists, so the chain is not empty
    if sealed.position is not None:
        return ChainProblem(
            last_id, f"events after the sealed event {head.event_id} were added without the audit key", "out_of_order"
        )
    return ChainProblem(
        head.event_id, f"event {head.event_id} was sealed as the newest, but was taken out of the chain", "changed"
    )


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
    """The newest sealed event's hash (``portal audit verify --known`` can still check it)."""
    newest = select(_COLUMNS.hash).where(_COLUMNS.position.is_not(None)).order_by(_COLUMNS.position.desc()).limit(1)
    return db.session.execute(newest).scalar() or GENESIS

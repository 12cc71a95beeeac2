"""The sealer: gives committed, pending audit events their place in the chain.

:func:`portal.audit.service.record` writes an event with its content MAC and nothing
else, so audited transactions never wait for each other. The sealer chains what has
committed since: in id order of what it can see, at the next chain positions, each link
computed from the previous link and the event's content MAC, and moves the sealed head,
all in one transaction. Only sealers wait for the sealer lock (on PostgreSQL an advisory
lock they *try*; SQLite has one writer at a time anyway).

It runs right after every commit that recorded an event (a session ``after_commit``
hook, on its own connection: the request's work is already committed and its response
never waits for another sealer), from ``flask --app wsgi portal audit seal`` for a
scheduler, and at the start of ``portal audit verify``.

Until an event is sealed its deletion cannot be detected (nothing links to it yet); a
change to it is, by its MAC. The hook keeps that window to the moment after the commit.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, event, func, select, text, update
from sqlalchemy.orm import Session

from portal.audit.hashing import GENESIS, audit_key, head_mac, link_hash
from portal.audit.models import CHAIN_SEALED, AuditEvent, AuditHead
from portal.extensions import db

log = logging.getLogger(__name__)

SEALER_LOCK = 727275  # PostgreSQL advisory lock key, taken only by sealers
BATCH = 500
_TABLE = cast(Table, AuditEvent.__table__)
_EVENTS = _TABLE.c
_HEAD = cast(Table, AuditHead.__table__)
_PENDING = (_EVENTS.position.is_(None)) & (_EVENTS.chain_version == CHAIN_SEALED)
_RECORDED = "audit_events_recorded"  # Session.info flag: this transaction wrote audit events


class SealRefused(Exception):
    """The head record is missing or forged: chaining more events onto it would bless
    whatever was done to the chain, so the events stay pending and verify says why."""


def _try_lock(conn: Connection) -> bool:
    """Take the sealer lock for this transaction, or say that another sealer holds it."""
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEALER_LOCK}).scalar())
    # SQLite: a write first, so that the reads below happen under the single writer lock
    # (the driver opens the transaction only at the first write).
    conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(id=_HEAD.c.id))
    return True


def _chain_end(conn: Connection, key: bytes) -> tuple[str, int, bool]:
    """The link to continue from, the last position used, and whether a head exists."""
    head = conn.execute(select(_HEAD.c.event_id, _HEAD.c.event_hash, _HEAD.c.mac).where(_HEAD.c.id == 1)).first()
    last_position = conn.execute(select(func.max(_EVENTS.position))).scalar() or 0
    if head is None:
        if last_position:
            raise SealRefused("the sealed head record is missing, so nothing shows where the chain ends")
        return GENESIS, 0, False
    if not hmac.compare_digest(head.mac, head_mac(head.event_id, head.event_hash, key)):
        raise SealRefused("the head record was not sealed with the audit key")
    # Continue from the head, not from the last row: if the tail was cut, the next link
    # still names the event that is gone, and verify shows it.
    return head.event_hash, last_position, True


def _seal_batch(conn: Connection, key: bytes) -> int:
    previous, position, has_head = _chain_end(conn, key)
    pending = conn.execute(
        select(_EVENTS.id, _EVENTS.content_mac).where(_PENDING).order_by(_EVENTS.id).limit(BATCH)
    ).all()
    if not pending:
        return 0
    links: list[dict[str, Any]] = []
    last_id = pending[-1].id
    for row in pending:
        position += 1
        link = link_hash(position, row.id, previous, row.content_mac, key)
        links.append({"b_id": row.id, "b_position": position, "b_prev": previous, "b_link": link})
        previous = link
    _write_links(conn, links)
    head = {"event_id": last_id, "event_hash": previous, "mac": head_mac(last_id, previous, key)}
    if has_head:
        conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(**head))
    else:
        conn.execute(_HEAD.insert().values(id=1, **head))
    return len(pending)


def _write_links(conn: Connection, links: list[dict[str, Any]]) -> None:
    """Give each event its place and link. On PostgreSQL one UPDATE joined to the arrays
    (a batch of 500 row updates sent one by one was a fifth of a 100,000-entry import)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "UPDATE audit_events AS e SET position = v.position, prev_hash = v.prev, hash = v.link "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:positions AS bigint[]), CAST(:prevs AS text[]), "
                "CAST(:links AS text[])) AS v(id, position, prev, link) WHERE e.id = v.id"
            ),
            {
                "ids": [link["b_id"] for link in links],
                "positions": [link["b_position"] for link in links],
                "prevs": [link["b_prev"] for link in links],
                "links": [link["b_link"] for link in links],
            },
        )
        return
    conn.execute(
        update(_TABLE)
        .where(_EVENTS.id == bindparam("b_id"))
        .values(position=bindparam("b_position"), prev_hash=bindparam("b_prev"), hash=bindparam("b_link")),
        links,
    )


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """Its own transaction: on a new connection, or (a test's session joined to an outer
    transaction on one connection) a savepoint on that connection, the only one that can
    see what the test wrote."""
    if isinstance(bind, Connection):
        with bind.begin_nested():
            yield bind
    else:
        with bind.begin() as conn:
            yield conn


def _pending_exist(bind: Engine | Connection) -> bool:
    with _transaction(bind) as conn:
        return conn.execute(select(_EVENTS.id).where(_PENDING).limit(1)).first() is not None


def seal_pending(rounds: int | None = None, bind: Engine | Connection | None = None) -> int:
    """Chain every committed pending event; return how many were sealed.

    Returns early when another sealer holds the lock: it looks for pending events again
    after it lets the lock go, so an event committed meanwhile is not left behind.
    ``rounds`` bounds the work (the after-commit hook does not seal a backlog on a
    cardholder's time). ``bind`` defaults to the session's. Raises :class:`SealRefused`
    when the head is missing or forged.
    """
    key = audit_key()
    bind = bind if bind is not None else db.session.get_bind()
    sealed, done = 0, 0
    while rounds is None or done < rounds:
        done += 1
        with _transaction(bind) as conn:
            if not _try_lock(conn):
                return sealed
            count = _seal_batch(conn, key)
        sealed += count
        # The lock is released at commit; look again, outside it, for events whose own
        # sealer found it taken while we held it.
        if count < BATCH and not _pending_exist(bind):
            return sealed
    return sealed


def note_recorded(session: Session) -> None:
    """Mark the session's transaction as having written audit events (see the hook)."""
    session.info[_RECORDED] = True


@event.listens_for(Session, "after_commit")
def _seal_after_commit(session: Session) -> None:
    # Until the unit-of-work's own after-commit queue exists, this is that hook. It must
    # never turn a committed request into an error: what it cannot seal now, the next
    # commit, `portal audit seal` or `portal audit verify` will.
    if session.in_nested_transaction():
        return  # a savepoint released: its events commit (or not) with the outer transaction
    if not session.info.pop(_RECORDED, False):
        return
    try:
        seal_pending(rounds=2, bind=session.get_bind())
    except SealRefused as refused:
        log.error("audit events left pending: %s (run `flask --app wsgi portal audit verify`)", refused)
    except Exception:
        log.exception("audit sealing failed after a commit; the events stay pending until the next seal")


@event.listens_for(Session, "after_transaction_end")
def _forget_rolled_back(session: Session, transaction: Any) -> None:
    # The outermost transaction ended without after_commit (a rollback): its events are gone.
    # (after_rollback would also fire for a savepoint rolled back inside a transaction.)
    if transaction.parent is None:
        session.info.pop(_RECORDED, None)

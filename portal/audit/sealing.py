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
It is on the request's time, so it is kept short: on PostgreSQL one connection and one
transaction of three statements (lock; where the chain ends and what waits; the links,
the head and a last look for events committed meanwhile).

Reading a page writes an event too (a case file viewed, a search: ``record_row``), and
those are most of the events. A transaction that recorded only such reads is sealed
right after its commit only when this process has not sealed for ``READ_SEAL_SECONDS``;
otherwise its events wait, content MAC and all, for the next seal: the next audited
write's commit (which seals at once, always), the next read after the interval, the
scheduler's ``audit-seal`` (every minute), or ``portal audit verify`` (which seals
first). Under load a worker then seals once a second instead of after every page view
(the sealer's three statements and its connection were a tenth of a case file's CPU),
and the window in which a read's event could vanish unseen is at most that second; in a
quiet moment at most the scheduler's minute, as for any event whose sealer found the
lock taken. A change to a waiting event is caught by its MAC all the while.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, event, func, literal, select, text, true, update
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
_RECORDED = "audit_events_recorded"  # Session.info: this transaction wrote audit events (_READS or _WRITES)
_READS, _WRITES = "reads", "writes"
READ_SEAL_SECONDS = 1.0  # a transaction of read events only seals when this process has not for as long
_last_seal = [float("-inf")]  # time.monotonic() of this process's last seal after a commit


class SealRefused(Exception):
    """The head record is missing or forged: chaining more events onto it would bless
    whatever was done to the chain, so the events stay pending and verify says why."""


_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)")
_TAKE_SQLITE_WRITER = update(_HEAD).where(_HEAD.c.id == 1).values(id=_HEAD.c.id)
# Where the chain ends and what waits, in one statement: the head (if any), the last
# position used, and the pending events in id order (a row of NULLs when none wait).
_PENDING_IDS = select(_EVENTS.id, _EVENTS.content_mac).where(_PENDING).order_by(_EVENTS.id).limit(BATCH).subquery()
_ANCHOR = select(literal(1).label("one")).subquery()
_READ = (
    select(
        _HEAD.c.event_id,
        _HEAD.c.event_hash,
        _HEAD.c.mac,
        select(func.max(_EVENTS.position)).scalar_subquery().label("last_position"),
        _PENDING_IDS.c.id,
        _PENDING_IDS.c.content_mac,
    )
    .select_from(_ANCHOR)
    .outerjoin(_HEAD, _HEAD.c.id == 1)
    .outerjoin(_PENDING_IDS, true())
    .order_by(_PENDING_IDS.c.id)
)
# PostgreSQL: the links, the head and a look for events committed since the read, in one
# statement. Its SELECT does not see the rows its own UPDATE changes (one snapshot), so
# the events just linked are left out of the look by id.
_LINK_EVENTS = (
    "WITH linked AS (UPDATE audit_events AS e SET position = v.position, prev_hash = v.prev, hash = v.link "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:positions AS bigint[]), CAST(:prevs AS text[]), "
    "CAST(:links AS text[])) AS v(id, position, prev, link) WHERE e.id = v.id), "
)
# Built from constants only (no input reaches these strings).
_LOOK_FOR_MORE = (
    f"SELECT EXISTS (SELECT 1 FROM audit_events WHERE position IS NULL AND chain_version = {CHAIN_SEALED} "  # noqa: S608
    "AND NOT (id = ANY (CAST(:ids AS bigint[]))))"
)
_MOVE_HEAD = text(
    _LINK_EVENTS  # noqa: S608
    + "head AS (UPDATE audit_head SET event_id = :event_id, event_hash = :event_hash, mac = :mac WHERE id = 1) "
    + _LOOK_FOR_MORE
)
_FIRST_HEAD = text(
    _LINK_EVENTS  # noqa: S608
    + "head AS (INSERT INTO audit_head (id, event_id, event_hash, mac) VALUES (1, :event_id, :event_hash, :mac)) "
    + _LOOK_FOR_MORE
)
_LINKS_SQLITE = (
    update(_TABLE)
    .where(_EVENTS.id == bindparam("b_id"))
    .values(position=bindparam("b_position"), prev_hash=bindparam("b_prev"), hash=bindparam("b_link"))
)
_UPDATE_HEAD = update(_HEAD).where(_HEAD.c.id == 1)


def _try_lock(conn: Connection) -> bool:
    """Take the sealer lock for this transaction, or say that another sealer holds it."""
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(_LOCK, {"key": SEALER_LOCK}).scalar())
    # SQLite: a write first, so that the reads below happen under the single writer lock
    # (the driver opens the transaction only at the first write).
    conn.execute(_TAKE_SQLITE_WRITER)
    return True


def _chain_end(head: Any, key: bytes) -> tuple[str, int, bool]:
    """The link to continue from, the last position used, and whether a head exists."""
    last_position = head.last_position or 0
    if head.event_id is None:
        if last_position:
            raise SealRefused("the sealed head record is missing, so nothing shows where the chain ends")
        return GENESIS, 0, False
    if not hmac.compare_digest(head.mac, head_mac(head.event_id, head.event_hash, key)):
        raise SealRefused("the head record was not sealed with the audit key")
    # Continue from the head, not from the last row: if the tail was cut, the next link
    # still names the event that is gone, and verify shows it.
    return head.event_hash, last_position, True


def _seal_batch(conn: Connection, key: bytes) -> tuple[int, bool]:
    """Seal one batch under the lock: how many events, and whether more are waiting
    (a full batch, or events committed while this one was being sealed)."""
    rows = conn.execute(_READ).all()
    previous, position, has_head = _chain_end(rows[0], key)
    pending = [row for row in rows if row.id is not None]
    if not pending:
        return 0, False
    links: list[dict[str, Any]] = []
    last_id = pending[-1].id
    for row in pending:
        position += 1
        link = link_hash(position, row.id, previous, row.content_mac, key)
        links.append({"b_id": row.id, "b_position": position, "b_prev": previous, "b_link": link})
        previous = link
    head = {"event_id": last_id, "event_hash": previous, "mac": head_mac(last_id, previous, key)}
    more = _write_links(conn, links, head, has_head)
    return len(pending), more or len(pending) == BATCH


def _write_links(conn: Connection, links: list[dict[str, Any]], head: dict[str, Any], has_head: bool) -> bool:
    """Give each event its place and link and move the head; say whether other events
    are pending. On PostgreSQL one statement, the UPDATE joined to the arrays (a batch of
    500 row updates sent one by one was a fifth of a 100,000-entry import)."""
    if conn.dialect.name == "postgresql":
        arrays = {
            "ids": [link["b_id"] for link in links],
            "positions": [link["b_position"] for link in links],
            "prevs": [link["b_prev"] for link in links],
            "links": [link["b_link"] for link in links],
        }
        return bool(conn.execute(_MOVE_HEAD if has_head else _FIRST_HEAD, {**arrays, **head}).scalar())
    conn.execute(_LINKS_SQLITE, links)
    if has_head:
        conn.execute(_UPDATE_HEAD.values(**head))
    else:
        conn.execute(_HEAD.insert().values(id=1, **head))
    # SQLite has one writer at a time: a sealer that came after this one waits for it and
    # then seals what it finds, so nothing is left behind for it to look for here.
    return False


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[tuple[Connection, bool]]:
    """The connection to seal on, and whether it is the sealer's own. A test's session
    joined to an outer transaction on one connection: that connection (each round a
    savepoint), the only one that can see what the test wrote. Otherwise one connection
    of its own for every round."""
    if isinstance(bind, Connection):
        yield bind, False
    else:
        with bind.connect() as conn:
            yield conn, True


@contextmanager
def _transaction(conn: Connection, own: bool) -> Iterator[None]:
    if own:
        with conn.begin():
            yield
    else:
        with conn.begin_nested():
            yield


def seal_pending(rounds: int | None = None, bind: Engine | Connection | None = None) -> int:
    """Chain every committed pending event; return how many were sealed.

    Returns early when another sealer holds the lock. The holder looks for pending
    events once more before it lets the lock go, in the statement that writes its links,
    and seals those too, so an event committed meanwhile is not left behind (one
    committed in the moment between that look and the holder's commit waits for the
    next seal: the next audited commit, or the scheduler's). ``rounds`` bounds the work
    (the after-commit hook does not seal a backlog on a cardholder's time). ``bind``
    defaults to the session's. Raises :class:`SealRefused` when the head is missing or
    forged. One round is one transaction of three statements on PostgreSQL: the lock,
    the chain's end with the pending events, and the links with the head.
    """
    key = audit_key()
    bind = bind if bind is not None else db.session.get_bind()
    sealed, done = 0, 0
    with _connection(bind) as (conn, own):
        while rounds is None or done < rounds:
            done += 1
            with _transaction(conn, own):
                if not _try_lock(conn):
                    return sealed
                count, more = _seal_batch(conn, key)
            sealed += count
            if not more:
                return sealed
    return sealed


def note_recorded(session: Session, *, read: bool = False) -> None:
    """Mark the session's transaction as having written audit events (see the hook);
    ``read``: events of reading a page only, which may wait for the next seal."""
    if not read or session.info.get(_RECORDED) != _WRITES:
        session.info[_RECORDED] = _READS if read else _WRITES


def read_seal_due(now: float | None = None) -> bool:
    """Whether a transaction of read events only seals after its commit: this process
    has not sealed for ``READ_SEAL_SECONDS``."""
    return (time.monotonic() if now is None else now) - _last_seal[0] >= READ_SEAL_SECONDS


def sealed_now(at: float | None = None) -> None:
    """Note that this process sealed after a commit (tests set the clock of the interval
    with it; ``float("-inf")`` makes the next read seal)."""
    _last_seal[0] = time.monotonic() if at is None else at


@event.listens_for(Session, "after_commit")
def _seal_after_commit(session: Session) -> None:
    # Until the unit-of-work's own after-commit queue exists, this is that hook. It must
    # never turn a committed request into an error: what it cannot seal now, the next
    # commit, `portal audit seal` or `portal audit verify` will.
    if session.in_nested_transaction():
        return  # a savepoint released: its events commit (or not) with the outer transaction
    recorded = session.info.pop(_RECORDED, None)
    if recorded is None:
        return
    now = time.monotonic()
    if recorded == _READS and not read_seal_due(now):
        return  # sealed by the next seal (module docstring): at most a second away under load
    try:
        seal_pending(rounds=2, bind=session.get_bind())
        sealed_now(now)  # only a seal that ran defers the next read's: a failed one is retried by it
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

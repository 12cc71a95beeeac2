"""Sessions that end on the server: a copied cookie is worth nothing after sign-out.

Each sign-in opens a session in a store; the cookie carries only its random token.
Every request checks it (``portal.sessions``): it must exist, belong to the signed-in
identity, not be ended, be younger than the absolute lifetime and have been used within
the idle limit. Sign-out, lockouts, re-enrolment and deactivation end sessions here.

Two stores give the same verdicts: the database (:class:`DatabaseSessions`, a
``WebSession`` row per session, the default) and the shared Redis
(``portal.auth.redis_sessions``), chosen when ``PORTAL_REDIS_URL`` is set, so that every
node behind a load balancer sees the same sessions without a database write per request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import ColumnElement, Table, bindparam, select, update

from portal import redis_store
from portal.auth.models import WebSession
from portal.db_types import rowcount, utcnow
from portal.extensions import db
from portal.unit_of_work import on_refusal

# Idle time is measured from the last request, written at most this often: a page with
# many requests costs one write, and the idle limit is early by at most this much.
TOUCH_EVERY = timedelta(seconds=30)
EXTENSION = "session_store"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What a store keeps of a token: its SHA-256, never the token the cookie holds."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore(Protocol):
    """Where sessions live. ``principal`` is the Flask-Login id (``c:<id>``, ``s:<id>``)."""

    def start(self, principal: str, now: datetime) -> str:
        """Open a session for ``principal``; return its token."""

    def check(
        self, token: str | None, principal: str, now: datetime, idle: timedelta, absolute: timedelta
    ) -> str | None:
        """None when the session is live (and note the activity, at most every
        ``TOUCH_EVERY``), else why it is not: ``unknown``, ``ended``, ``expired``
        (absolute lifetime; the session ends) or ``idle`` (the session ends)."""

    def end(self, token: str | None, now: datetime, reason: str) -> None:
        """End the session holding ``token``, if it is open."""

    def end_all(self, principal: str, reason: str, now: datetime) -> int:
        """End every open session of ``principal``; return how many were open."""


class DatabaseSessions:
    """One ``WebSession`` row per session. A check is one query; a touch is a write,
    committed with the request (or on its own when the request was refused)."""

    def start(self, principal: str, now: datetime) -> str:
        token = new_token()
        db.session.add(WebSession(token_hash=token_hash(token), principal=principal, created_at=now, last_seen_at=now))
        db.session.flush()
        return token

    def check(
        self, token: str | None, principal: str, now: datetime, idle: timedelta, absolute: timedelta
    ) -> str | None:
        # The columns as a plain row, not a WebSession object: the check runs on every
        # signed-in request and reads five values; the rare write is an UPDATE of its own.
        row = _session_row(token_hash(token), principal) if token else None
        if row is None or row.principal != principal:
            return "unknown"
        if row.ended_at is not None:
            return "ended"
        verdict = "expired" if now - row.created_at > absolute else "idle" if now - row.last_seen_at > idle else None
        if verdict is not None:
            db.session.execute(
                update(WebSession)
                .where(WebSession.id == row.session_id, WebSession.ended_at.is_(None))
                .values(ended_at=now, end_reason=verdict)
            )
        elif now - row.last_seen_at >= TOUCH_EVERY:
            _touch(row.session_id, now)
            on_refusal(partial(_touch, row.session_id, now))  # a refused page is activity too
        return verdict

    def end(self, token: str | None, now: datetime, reason: str) -> None:
        if token:
            db.session.execute(
                update(WebSession)
                .where(WebSession.token_hash == token_hash(token), WebSession.ended_at.is_(None))
                .values(ended_at=now, end_reason=reason)
            )

    def end_all(self, principal: str, reason: str, now: datetime) -> int:
        result = db.session.execute(
            update(WebSession)
            .where(WebSession.principal == principal, WebSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        return rowcount(result)


# A Core statement on the table (no ORM entity to compile against), built once.
_SESSIONS: Table = WebSession.__table__  # type: ignore[assignment]
_COLUMNS = (
    _SESSIONS.c.id.label("session_id"),
    _SESSIONS.c.principal,
    _SESSIONS.c.created_at,
    _SESSIONS.c.last_seen_at,
    _SESSIONS.c.ended_at,
)
_CHECK = select(*_COLUMNS).where(_SESSIONS.c.token_hash == bindparam("token_hash"))


# Readers of a signed-in identity that read it with the session's row, by the principal's
# kind ("c", "s"): each is given the sessions table, the columns the check reads, the
# token's hash and the identity's id, and returns the session's row (or None). The layers
# that load identities register them (portal.auth.init_login): this module knows none.
IdentityReader = Callable[[Table, tuple[ColumnElement[Any], ...], str, int], Any]
_READERS: dict[str, IdentityReader] = {}


def read_with_session(kind: str, reader: IdentityReader) -> None:
    """Have the check of a ``kind`` principal's session read its identity in the same
    statement (``reader``): the page reads it next anyway, so one statement does for both."""
    _READERS[kind] = reader


def _session_row(hashed: str, principal: str) -> Any:
    """The session's row (``session_id``, ``principal``, ``created_at``, ``last_seen_at``,
    ``ended_at``) or None, read with the identity where a reader is registered."""
    kind, _, raw_id = principal.partition(":")
    reader = _READERS.get(kind)
    if reader is not None and raw_id.isdigit():
        return reader(_SESSIONS, _COLUMNS, hashed, int(raw_id))
    return db.session.execute(_CHECK, {"token_hash": hashed}).one_or_none()


def _touch(session_id: int, now: datetime) -> None:
    db.session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None), WebSession.last_seen_at < now)
        .values(last_seen_at=now)
    )


def init_app(app: Flask) -> None:
    """Choose the store: the shared Redis when one is configured, else the database."""
    redis = redis_store.client(app)
    if redis is None:
        app.extensions[EXTENSION] = DatabaseSessions()
        return
    from portal.auth.redis_sessions import RedisSessions

    app.extensions[EXTENSION] = RedisSessions(redis, app.config["PERMANENT_SESSION_LIFETIME"])


def store() -> SessionStore:
    found: SessionStore = current_app.extensions[EXTENSION]
    return found


def start_session(principal: str, now: datetime) -> str:
    """Open a session for ``principal`` (``c:<id>`` or ``s:<id>``); return its token."""
    return store().start(principal, now)


def check_session(token: str | None, principal: str, now: datetime, idle: timedelta, absolute: timedelta) -> str | None:
    """None when the session is live (and note the activity), else why it is not:
    ``unknown``, ``ended``, ``expired`` (absolute lifetime) or ``idle``."""
    return store().check(token, principal, now, idle, absolute)


def end_session(token: str | None, now: datetime, reason: str = "signed_out") -> None:
    """End the session holding ``token`` (sign-out)."""
    store().end(token, now, reason)


def end_sessions(principal: str, reason: str, now: datetime | None = None) -> int:
    """End every open session of ``principal`` (lockout, re-enrolment, deactivation, a
    new password); return how many were open."""
    return store().end_all(principal, reason, now or utcnow())

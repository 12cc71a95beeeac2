"""Sessions that end on the server: a copied cookie is worth nothing after sign-out.

Each sign-in opens a :class:`WebSession` row; the cookie carries only its random token.
Every request checks the row (``portal.sessions``): it must exist, belong to the
signed-in identity, not be ended, be younger than the absolute lifetime and have been
used within the idle limit. Sign-out, lockouts, re-enrolment and deactivation end
rows here.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select, update

from portal.auth.models import WebSession
from portal.db_types import rowcount, utcnow
from portal.extensions import db
from portal.unit_of_work import on_refusal

# Idle time is measured from the last request, written at most this often: a page with
# many requests costs one write, and the idle limit is early by at most this much.
TOUCH_EVERY = timedelta(seconds=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(principal: str, now: datetime) -> str:
    """Open a session for ``principal`` (``c:<id>`` or ``s:<id>``); return its token."""
    token = secrets.token_urlsafe(32)
    db.session.add(WebSession(token_hash=_hash(token), principal=principal, created_at=now, last_seen_at=now))
    db.session.flush()
    return token


def check_session(token: str | None, principal: str, now: datetime, idle: timedelta, absolute: timedelta) -> str | None:
    """None when the session is live (and note the activity), else why it is not:
    ``unknown``, ``ended``, ``expired`` (absolute lifetime) or ``idle``."""
    row = None
    if token:
        row = db.session.execute(select(WebSession).where(WebSession.token_hash == _hash(token))).scalar_one_or_none()
    if row is None or row.principal != principal:
        return "unknown"
    if row.ended_at is not None:
        return "ended"
    verdict = "expired" if now - row.created_at > absolute else "idle" if now - row.last_seen_at > idle else None
    if verdict is not None:
        row.ended_at, row.end_reason = now, verdict
    elif now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        on_refusal(partial(_touch, row.id, now))  # a refused page is activity too
    db.session.flush()
    return verdict


def _touch(session_id: int, now: datetime) -> None:
    db.session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None), WebSession.last_seen_at < now)
        .values(last_seen_at=now)
    )


def end_session(token: str | None, now: datetime, reason: str = "signed_out") -> None:
    """End the session holding ``token`` (sign-out)."""
    if token:
        db.session.execute(
            update(WebSession)
            .where(WebSession.token_hash == _hash(token), WebSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )


def end_sessions(principal: str, reason: str, now: datetime | None = None) -> int:
    """End every open session of ``principal``; return how many were open."""
    result = db.session.execute(
        update(WebSession)
        .where(WebSession.principal == principal, WebSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason)
    )
    return rowcount(result)

"""Report reads on a read replica (``PORTAL_DATABASE_REPLICA_URL``; default: the primary).

Some pages only summarise many rows and may be a moment behind without harm: the policy
impact preview, the care work queue and its per-tier counts, the audit trail viewer and
its CSV export. They read through :func:`report_session`, which is a session on the
replica when one is configured and the request's own ``db.session`` otherwise (so that,
without a replica, a report sees what the same request wrote, as before).

What must be current stays on the primary: everything a decision or a write depends on
(sign-in, offers, acceptance, the case file a counsellor acts on, approvals), and the
daily plan-events file (``portal plans export``), whose rows a core system takes as the
day's truth: an event a lagging replica had not yet replayed would never be sent.

Nothing is written through the replica: its connections are read-only transactions on
PostgreSQL, and the session refuses to flush or to run an INSERT, UPDATE or DELETE.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session

from portal.extensions import db

_SESSION = "_replica_session"


class ReplicaWriteError(RuntimeError):
    """Something tried to write through the read replica's session."""


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReplicaWriteError("the read replica's session is for reports: nothing is written through it")


def _refuse_writes(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReplicaWriteError("the read replica's session is for reports: nothing is written through it")


def replica_engine(app: Flask) -> Engine | None:
    """The replica's engine, or None when reports read from the primary."""
    engine: Engine | None = app.extensions.get("replica_engine")
    return engine


def report_session() -> Session:
    """The session report reads go through in this app context (see the module notes)."""
    engine = replica_engine(current_app)
    if engine is None:
        return db.session()
    session: Session | None = g.get(_SESSION)
    if session is None:
        session = Session(bind=engine, autoflush=False, expire_on_commit=False)
        event.listen(session, "before_flush", _refuse_flush)
        event.listen(session, "do_orm_execute", _refuse_writes)
        setattr(g, _SESSION, session)
    return session


def _close(_error: BaseException | None = None) -> None:
    session: Session | None = g.pop(_SESSION, None)
    if session is not None:
        session.close()  # ends the read-only transaction: the next report sees a fresh snapshot


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_REPLICA_URL") or ""
    if url and url != app.config["SQLALCHEMY_DATABASE_URI"]:
        engine = create_engine(url, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        if engine.dialect.name == "postgresql":
            # Every transaction on it is READ ONLY: the server refuses a write whatever asks.
            engine = engine.execution_options(postgresql_readonly=True)
        app.extensions["replica_engine"] = engine
    app.teardown_appcontext(_close)

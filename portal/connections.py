"""Pooled database connections, checked before use without a round trip when they can be.

A connection taken from the pool may have died while it waited there: the database
restarted, an administrator ended the session, ``idle_session_timeout`` passed. SQLAlchemy's
``pool_pre_ping`` finds out by sending ``SELECT 1`` at every checkout, a round trip (and
a statement for the server to run) on every request. Here a connection is pinged only
when that is in doubt:

- it waited in the pool longer than ``PING_AFTER_IDLE`` (a quiet night, a silent firewall
  that drops idle connections: the cases a ping is for), or
- the server has said something on it since it was last used: on an idle PostgreSQL
  connection nothing arrives unless the server is ending it (a termination notice, or the
  socket closing on a restart), so a readable socket means "ask", and asking costs one
  ``poll()`` system call, not a round trip, or
- it is not idle and open as the pool leaves it, or the driver is not one we can look into.

A ping that fails raises ``DisconnectionError``: the pool drops that connection and opens
a fresh one, as ``pool_pre_ping`` does. SQLite connections are files: nothing to ping.
"""

from __future__ import annotations

import select
import time
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from portal.extensions import db

PING_AFTER_IDLE = 10.0  # seconds a connection may wait in the pool and still be taken on trust
_RETURNED = "portal_returned_at"  # monotonic time the connection last went back to the pool (record.info)
_STIRRED = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def _psycopg_looks_alive(connection: Any) -> bool:
    """True when a psycopg connection is open, idle and its socket has nothing to read."""
    from psycopg.pq import TransactionStatus

    if connection.closed or connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(connection.pgconn.socket, _STIRRED)
    return not poller.poll(0)


def watch(engine: Engine) -> None:
    """Check ``engine``'s pooled connections at checkout as the module describes."""
    dialect = engine.dialect
    if dialect.name == "sqlite":
        return
    looks_alive = _psycopg_looks_alive if dialect.driver == "psycopg" and hasattr(select, "poll") else None

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        returned_at = record.info.get(_RETURNED)
        if (
            looks_alive is not None
            and returned_at is not None
            and time.monotonic() - returned_at < PING_AFTER_IDLE
            and looks_alive(dbapi_connection)
        ):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as problem:  # any failure: the pool replaces the connection
            raise DisconnectionError(f"the pooled connection did not answer: {type(problem).__name__}") from problem


def init_app(app: Flask) -> None:
    """Watch the app's engines: the primary and, when there is one, the read replica."""
    from portal.replica import replica_engine

    with app.app_context():
        engines = list(db.engines.values())
    replica = replica_engine(app)
    for engine in [*engines, *([replica] if replica is not None else [])]:
        watch(engine)

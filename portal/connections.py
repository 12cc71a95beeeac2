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
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.sql.selectable import GenerativeSelect

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


# --- BEGIN when the transaction first needs to be one -----------------------------------

_LAZY = "portal_lazy_begin"  # this connection's transaction has not sent BEGIN yet (record.info)


def _plain_read(statement: str, context: Any) -> bool:
    """A SELECT built with ``select()``, without FOR UPDATE/SHARE, an advisory lock or a
    server-side cursor: what it sees and does is the same inside a READ COMMITTED
    transaction or outside one."""
    compiled = getattr(context, "compiled", None)
    if compiled is None or context.isinsert or context.isupdate or context.isdelete or context.isddl:
        return False
    if getattr(context, "_is_server_side", False) or context.execution_options.get("stream_results"):
        return False  # a server-side cursor (yield_per) lives in a transaction
    query = compiled.statement
    return isinstance(query, GenerativeSelect) and query._for_update_arg is None and "pg_advisory" not in statement


def begin_lazily(engine: Engine) -> None:
    """On PostgreSQL under READ COMMITTED, send BEGIN just before a transaction's first
    statement that is not a plain read, instead of before its first statement.

    Under READ COMMITTED every statement takes its own snapshot, in a transaction or out of
    one, so the reads that come before the first write see exactly what they would have
    seen; the first write, a locking read, an advisory lock, a savepoint or anything not
    built as a plain ``select()`` begins the transaction, and everything from there on is
    in it, committed or rolled back as one. A request that only reads (most pages) then
    sends no BEGIN and no ROLLBACK: two round trips fewer. SQLite's driver has always
    worked this way. A connection given its own isolation level or read-only mode (the
    audit verifier's REPEATABLE READ, the replica) is left as it is; so is a server whose
    default isolation is not READ COMMITTED.
    """
    if engine.dialect.driver != "psycopg":
        return
    from psycopg import IsolationLevel
    from psycopg.pq import TransactionStatus

    @event.listens_for(engine, "begin")
    def begin(conn: Connection) -> None:
        if getattr(engine.dialect, "default_isolation_level", None) != "READ COMMITTED":
            return
        options = conn.get_execution_options()
        if options.get("isolation_level") or options.get("postgresql_readonly"):
            return
        dbapi_connection = conn.connection.dbapi_connection
        if (
            dbapi_connection is None
            or dbapi_connection.autocommit
            or dbapi_connection.isolation_level not in (None, IsolationLevel.READ_COMMITTED)
            or dbapi_connection.read_only
            or dbapi_connection.info.transaction_status != TransactionStatus.IDLE
        ):
            return
        dbapi_connection.autocommit = True  # statements run on their own until BEGIN is needed
        conn.info[_LAZY] = True

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Connection, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        if conn.info.get(_LAZY) and not _plain_read(statement, context):
            conn.info.pop(_LAZY)
            _normal(conn.connection.dbapi_connection)  # the driver sends BEGIN first

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def end(conn: Connection) -> None:
        if conn.info.pop(_LAZY, None):  # nothing but reads: no transaction was opened
            _normal(conn.connection.dbapi_connection)

    @event.listens_for(engine, "checkin")
    def returned(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if record.info.pop(_LAZY, None):  # a connection given back without its end (an error)
            _normal(dbapi_connection)


def begin_now(conn: Connection) -> None:
    """Have the driver send BEGIN before its next statement, for statements sent through
    the driver's own cursor that the ``before_cursor_execute`` hook cannot see (COPY)."""
    if conn.info.pop(_LAZY, None):
        _normal(conn.connection.dbapi_connection)


def _normal(dbapi_connection: Any) -> None:
    if dbapi_connection is not None and not dbapi_connection.closed:
        dbapi_connection.autocommit = False


def init_app(app: Flask) -> None:
    """Watch the app's engines: the primary and, when there is one, the read replica."""
    from portal.replica import replica_engine

    with app.app_context():
        engines = list(db.engines.values())
    replica = replica_engine(app)
    for engine in [*engines, *([replica] if replica is not None else [])]:
        watch(engine)
    for engine in engines:  # the replica's transactions are READ ONLY ones, kept as they are
        begin_lazily(engine)

"""Audit appends on PostgreSQL do not wait for each other, and the sealer chains every
committed event, even when a smaller id commits after a larger one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal.audit.actions import Action, AuditAction
from portal.audit.hashing import content_mac
from portal.audit.models import AuditEvent, AuditHead
from portal.audit.sealing import SEALER_LOCK, note_recorded
from portal.audit.service import SYSTEM, Actor, record, seal_pending, verify_chain
from portal.db_types import utcnow
from portal.extensions import db
from tests.conftest import PG_TEST_DB, make_app, need, postgres_url, reset_schema


class ConcurrencyAction(AuditAction):
    """Actions only these tests write: ``record()`` takes registered members alone."""

    __test__ = False
    FIRST = "test.first"
    SECOND = "test.second"
    WHILE_SEALING = "test.while_sealing"
    CONCURRENT = "test.concurrent"


pytestmark = pytest.mark.postgres
DATABASE = f"{PG_TEST_DB}_audit"  # its own database: parallel runs with other names do not collide
WRITERS, EACH = 8, 10
# Every column of an event but its id and chain place: a copy of it in a new row.
_CONTENT = "occurred_at, actor_type, actor_id, action, object_type, object_id, before, after, ip, chain_version"
COPY_EVENT = f"INSERT INTO audit_events ({_CONTENT}, nonce, content_mac) SELECT {_CONTENT}, nonce, content_mac "
COPY_EVENT += "FROM audit_events WHERE id = :id"


@pytest.fixture(scope="module")
def pg_app() -> Iterator[Flask]:
    url = postgres_url(DATABASE)
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    app = make_app(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2 * WRITERS, "max_overflow": 4, "pool_timeout": 30})
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(pg_app: Flask) -> Iterator[Flask]:
    yield pg_app
    with pg_app.app_context(), db.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_events, audit_head"))


def chain(app: Flask) -> list[tuple[int, int | None]]:
    with app.app_context():
        return [
            tuple(row) for row in db.session.execute(select(AuditEvent.id, AuditEvent.position).order_by(AuditEvent.id))
        ]


def verify(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["portal", "audit", "verify"])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_open_transaction_with_an_event_does_not_hold_up_the_next_record(app):
    first, second = app.app_context(), app.app_context()
    first.push()
    try:
        record(SYSTEM, ConcurrencyAction.FIRST)
        db.session.flush()  # its transaction stays open, holding whatever record() took
        second.push()
        try:
            # The old chain lock would make this wait until `first` commits: fail fast instead.
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            started = time.perf_counter()
            record(SYSTEM, ConcurrencyAction.SECOND)
            db.session.flush()
            assert time.perf_counter() - started < 1
            db.session.commit()
        finally:
            second.pop()
        db.session.commit()
    finally:
        first.pop()
    assert len(chain(app)) == 2
    verify(app)


def test_transactions_committing_out_of_id_order_are_both_chained(app):
    first, second = app.app_context(), app.app_context()
    first.push()
    try:
        smaller = record(SYSTEM, ConcurrencyAction.FIRST).id
        second.push()
        try:
            larger = record(SYSTEM, ConcurrencyAction.SECOND).id
            db.session.commit()  # the larger id commits first and is sealed first
        finally:
            second.pop()
        db.session.commit()
    finally:
        first.pop()
    assert smaller < larger
    assert chain(app) == [(smaller, 2), (larger, 1)]
    with app.app_context():
        assert db.session.get(AuditHead, 1).event_id == smaller
    assert "audit chain intact: 2 events" in verify(app)


def test_a_commit_does_not_wait_for_a_sealer_that_holds_the_lock(app):
    with app.app_context(), db.engine.connect() as sealer:
        sealer.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SEALER_LOCK})
        try:
            started = time.perf_counter()
            event_id = record(SYSTEM, ConcurrencyAction.WHILE_SEALING).id
            db.session.commit()
            assert time.perf_counter() - started < 1
            assert chain(app) == [(event_id, None)]  # left for the sealer that holds the lock
        finally:
            sealer.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SEALER_LOCK})
            sealer.commit()
        assert seal_pending() == 1
    assert chain(app) == [(event_id, 1)]


def test_concurrent_writers_all_end_up_in_one_intact_chain(app):
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for k in range(EACH):
                    record(SYSTEM, ConcurrencyAction.CONCURRENT, ("writer", n), after={"k": k})
                    db.session.commit()
        except BaseException as error:  # surfaced below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        seal_pending()  # any event whose sealer found the lock taken at the very end
        assert verify_chain() is None
    positions = sorted(position for _id, position in chain(app))
    assert positions == list(range(1, WRITERS * EACH + 1))


def test_the_sealer_works_inside_a_callers_transaction_on_one_connection(app):
    # As under a test fixture that joins the session to an outer transaction: the
    # after-commit sealer uses a savepoint on that connection, the only one that sees the
    # uncommitted event (a connection of its own would not, or would wait for its lock).
    with app.app_context(), db.engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            event = AuditEvent(occurred_at=utcnow(), actor_type="system", action="test.joined", nonce="1" * 32)
            event.content_mac = content_mac(event)
            session.add(event)
            note_recorded(session)  # as record() does
            session.commit()
        assert conn.execute(select(AuditEvent.position)).scalars().all() == [1]
        outer.rollback()
    assert chain(app) == []


def test_a_copied_event_is_caught_even_when_the_unique_constraint_was_dropped(app):
    with app.app_context():
        original = record(Actor.staff(1), Action.Policy.APPROVED, ("policy_version", 7), after={"state": "active"}).id
        db.session.commit()
        # Someone with the database but not the key replays the event; the transaction is
        # rolled back at the end, so the constraint comes back.
        db.session.execute(text("ALTER TABLE audit_events DROP CONSTRAINT uq_audit_events_content_mac"))
        db.session.execute(text(COPY_EVENT), {"id": original})
        problem = verify_chain()
        db.session.rollback()
    assert problem is not None and problem.code == "out_of_order" and f"a copy of event {original}" in problem.reason

"""On PostgreSQL, a transaction sends BEGIN only before its first statement that is not a
plain read (``portal.connections.begin_lazily``): a page that only reads opens no
transaction at all, and everything from the first write on is one transaction.

Whether a transaction is open is what the server says after each statement (libpq's
transaction status, from the server's ReadyForQuery): idle, or in a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import event, func, select, text

from portal.accounts.models import Cardholder
from portal.auth.models import WebSession
from portal.bulk import bulk_insert
from portal.db_types import utcnow
from portal.extensions import db
from portal.unit_of_work import unit_of_work
from tests.conftest import make_account

pytestmark = [pytest.mark.parametrize("database_url", ["postgresql"], indirect=True), pytest.mark.real_commits]


@contextmanager
def statuses(app: Flask) -> Iterator[list[tuple[str, str]]]:
    """(first word of each statement, the connection's state after it), in order."""
    seen: list[tuple[str, str]] = []

    def note(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        status = conn.connection.dbapi_connection.info.transaction_status
        seen.append((statement.split()[0].upper(), "in transaction" if status != TransactionStatus.IDLE else "idle"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", note)


def test_a_page_that_only_reads_opens_no_transaction(app, client, auth):
    make_account(app)
    auth.sign_in()
    client.get("/account")  # the first page keeps a form token in the cookie
    with statuses(app) as seen:
        assert client.get("/account").status_code == 200
    assert seen and all(state == "idle" for _word, state in seen), seen


def test_from_the_first_write_on_everything_is_one_transaction(app):
    with statuses(app) as seen, app.app_context():
        db.session.execute(select(func.count()).select_from(Cardholder)).scalar_one()
        db.session.add(Cardholder(full_name="Wang Fang", date_of_birth_hash="x" * 64, phone="+86 138 0000 0002"))
        db.session.flush()
        assert db.session.execute(select(func.count()).select_from(Cardholder)).scalar_one() == 1
        db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(Cardholder)).scalar_one() == 0
    assert [state for _word, state in seen] == ["idle", "in transaction", "in transaction", "idle"]


def test_a_unit_of_work_that_fails_after_writing_keeps_nothing(app, query):
    with pytest.raises(RuntimeError), app.app_context(), unit_of_work():
        db.session.execute(select(WebSession.id)).all()
        db.session.add(Cardholder(full_name="Wang Fang", date_of_birth_hash="x" * 64, phone="+86 138 0000 0002"))
        db.session.flush()
        raise RuntimeError("after the write")
    assert query(select(Cardholder.id)) == []


@pytest.mark.parametrize(
    "statement",
    [
        select(WebSession.id).with_for_update(),  # a row lock lasts until the transaction ends
        text("SELECT pg_advisory_xact_lock(15)"),  # so does a transaction's advisory lock
        select(func.pg_advisory_xact_lock(15)),
        text("SELECT 1"),  # text the portal cannot read: taken for a write
    ],
    ids=["for update", "advisory lock", "advisory lock in select()", "text"],
)
def test_a_lock_or_a_statement_it_cannot_read_begins_the_transaction(app, statement):
    with statuses(app) as seen, app.app_context():
        db.session.execute(statement).all()
        db.session.rollback()
    assert seen == [(seen[0][0], "in transaction")]


def test_a_chosen_isolation_level_keeps_its_transaction(app):
    with statuses(app) as seen, app.app_context():
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        db.session.execute(select(WebSession.id)).all()
        db.session.execute(select(WebSession.id)).all()  # the same snapshot as the first
        db.session.rollback()
    assert [state for _word, state in seen] == ["in transaction", "in transaction"]


def test_a_streamed_read_begins_the_transaction(app):
    with statuses(app) as seen, app.app_context():
        assert list(db.session.execute(select(WebSession.id).execution_options(yield_per=10)).scalars()) == []
        db.session.rollback()
    assert seen and seen[0][1] == "in transaction"


def test_a_copy_through_the_drivers_cursor_is_part_of_the_transaction(app, query):
    row = {
        "full_name": "Wang Fang",
        "date_of_birth_hash": "x" * 64,
        "phone": "+86 138 0000 0002",
        "locale": "en",
        "created_at": utcnow(),
    }
    with app.app_context():
        db.session.execute(select(WebSession.id)).all()  # a read first: no transaction yet
        bulk_insert(Cardholder.__table__, [row])  # COPY, unseen by SQLAlchemy's hooks
        assert db.session.execute(select(func.count()).select_from(Cardholder)).scalar_one() == 1
        db.session.rollback()
    assert query(select(Cardholder.id)) == []
